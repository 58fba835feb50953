"""The scan engine: a float32 reference, each dtype's runs against it, the figures, serving advice."""
