"""Diagnosis: where a run fails (hooks on the model's modules) and why (one vocabulary of causes)."""
