"""--eval: what a precision does to the user's own metric on their labelled data (docs/evaluation.md).

sets.py reads a BEIR folder or scored pairs; ranking.py scores and ranks in float32; bootstrap.py gives
the paired interval; result.py holds the report's rows; gate.py judges them; measure.py joins the scan.
"""
