"""Loading: resolve a model as users name it, load it as users do, and what is known before a run (memory plan, dtype table, fingerprint, tokenizer, defaults)."""
