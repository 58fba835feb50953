"""precheck.testing.assert_survives (issue 29): silent when the model survives, an AssertionError with the
verdict lines, the diagnosis and the verified fix when not; the example in docs/training.md runs here."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from object_models import object_digest, scale_feed_forward, tiny_object

DOCS = Path(__file__).resolve().parents[2] / "docs" / "training.md"


def test_the_assertion_example_in_docs_training_runs(tmp_path):
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"<!-- run by tests/api/test_assertion.py -->\n```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, str(DOCS), "exec"), namespace)  # noqa: S102 - the docs' own example
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        test(tiny_object("sentence-transformer", tmp_path))  # the example's fixture: a trained model in memory


def test_assert_survives_names_the_module_cause_and_verified_fix(tmp_path, tiny_texts):
    from precheck.testing import assert_survives

    model = tiny_object("sentence-transformer", tmp_path)
    layer = scale_feed_forward(model, 1e6)
    before = object_digest(model)
    with pytest.raises(AssertionError) as raised:
        assert_survives(model, "fp16", texts_file=tiny_texts)
    message = str(raised.value)
    assert object_digest(model) == before
    lines = message.splitlines()
    assert lines[0] == "in-memory SentenceTransformer does not survive float16"
    assert lines[1].startswith("float16: "), message  # the verdict line
    assert any(line.startswith("diagnosis float16: overflow in ") and layer in line for line in lines), message
    assert any(line.startswith("verified fix float16: ") for line in lines), message
    assert any('precheck.fix(model, "float16")' in line for line in lines), message  # the object's way to apply it


def test_assert_survives_returns_the_report_when_the_model_passes(tmp_path, tiny_texts):
    from precheck.testing import assert_survives

    report = assert_survives(tiny_object("sentence-transformer", tmp_path), "fp16", texts_file=tiny_texts)
    assert report.verdict.passed
