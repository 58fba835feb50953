"""The terminal views: one module per report (scan and fix, ci, train-check), drawn with rich.

They read the report dataclasses and compute nothing; the JSON is the other rendering of the same objects.
"""
