"""On sentence-transformers 3.0.1 a float16 load leaves the Dense in float32 and `.to()` casts
it: different weights, so both strategies are encoded."""
from __future__ import annotations


def test_st3_dense_cast_is_not_same_as_load(dense_fp16):
    _, _, report = dense_fp16
    runs = {r["strategy"]: r for r in report["results"]}
    assert runs["load"]["status"] == "error" and runs["cast"]["status"] == "ok"
    assert runs["cast"]["same_as"] is None
    assert runs["cast"]["seconds"] is not None
