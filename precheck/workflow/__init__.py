"""The workflows both front doors call: the command line (cli/) and the Python API (precheck/__init__.py)
run the same functions, and add only parsing, rendering and exit codes.
"""
