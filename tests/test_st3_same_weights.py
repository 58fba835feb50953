"""On sentence-transformers 3.0.1 a float16 load leaves the Dense in float32 and `.to()` casts
it: different weights, so both strategies are encoded."""
from __future__ import annotations

import pytest

from conftest import scan_json

pytestmark = pytest.mark.st3


def test_st3_dense_cast_is_not_same_as_load(dense_model, probe_file):
    _, report = scan_json(dense_model, probe_file, "--dtype", "fp16", "--no-fix")
    runs = {r["strategy"]: r for r in report["results"]}
    assert runs["load"]["status"] == "error" and runs["cast"]["status"] == "ok"
    assert runs["cast"]["same_as"] is None
    assert runs["cast"]["seconds"] is not None
