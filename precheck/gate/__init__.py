"""The CI gate: the project config, `precheck ci` over many models, baselines and JUnit.

config.py reads [tool.precheck]; ci.py scans each model; baseline.py and junit.py record and report.
"""
