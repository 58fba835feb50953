"""Tests of the sentence-transformers 3.0.1 stack (marked st3 by this folder's conftest)."""
