"""A labelled set where scoring precision shows: evaluation_sets.py's BEIR folder with a crowd of
unjudged documents, alike in shape, written at test time (tests/test_scoring_precision.py and
tests/st3/test_st3_scoring_precision.py). Ties come with many close scores per query: with 150 documents
MiniLM's float16 scores on sentence-transformers 3.0.1 tie pairs that its float32 scores tell apart."""
from __future__ import annotations

from itertools import product
from pathlib import Path

from evaluation_sets import beir_rows, write_beir

WHO = ["The old farmer", "A young teacher", "My neighbour", "The city council", "A tired nurse"]
DID = ["planted", "painted", "sold", "repaired", "photographed", "measured"]
WHAT = ["the wooden fence", "a red bicycle", "the school roof", "an apple tree", "the harbour wall"]


def crowd() -> list[str]:
    """150 documents, alike in shape: who did what."""
    return [f"{who} {did} {what} last week." for who, did, what in product(WHO, DID, WHAT)]


def write_crowded_beir(folder: Path) -> Path:
    corpus, queries, qrels = beir_rows()
    corpus = corpus + [{"_id": f"crowd-{i}", "title": "", "text": text} for i, text in enumerate(crowd())]
    return write_beir(folder, corpus, queries, qrels)
