"""What a command reads and writes: every input checked (inputs.py), read once and bounded
(reading.py), and every output put in place whole or not at all (outputs.py)."""
