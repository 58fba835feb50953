"""Figures of a precision's outputs against float32, one module per kind of output (dense embeddings and
scores, sparse vectors, token vectors), and texts against texts a block at a time. Tensor arithmetic only.
"""
