"""The training pre-check: a short fine-tune in each precision mode, watched step by step.

modes.py trains one mode; check.py runs them all and recommends; data.py holds the labelled pairs.
"""
