"""What a run produces and its wire format: the dataclasses every step returns, the JSON codec, the
published schemas and the one bounded read of a document. Imports nothing of precheck's above the leaves.
"""
