"""The terminal views: one module per report (scan and fix, ci, train-check), drawn with rich;
fit.py keeps every table whole at the console's width, markdown.py writes the CI job summary.

They read the report dataclasses and compute nothing; the JSON is the other rendering of the same objects.
"""
