"""Repair: the verified fix search, what a plan is and how it is applied (`precheck.load`, `precheck fix`)."""
