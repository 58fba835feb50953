"""Output formats: each writes a command's result as text and never prints (interface.py).

json.py (--json), junit.py (--junit), markdown.py (--summary and the job summary), github.py
(GitHub Actions annotations). Nothing is imported here, so that report.py may use json.py.
"""
