"""precheck's version, stamped into every document it writes."""
__version__ = "0.1.0"
