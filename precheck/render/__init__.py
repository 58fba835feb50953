"""The terminal views: one module per report (scan and fix, ci, train-check), drawn with rich;
fit.py keeps every table whole at the console's width. The other formats (JSON, JUnit, Markdown) are in formats/.

They read the report dataclasses and compute nothing; the JSON is the other rendering of the same objects.
"""
