"""Counts and names read as English (issue 35): "1 model", "an mpnet"."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("word, expected", [
    ("mpnet", "an"), ("bert", "a"), ("xlm-roberta", "an"), ("int", "an"), ("int8", "an"), ("nf4", "an"),
    ("float16", "a"), ("list", "a"), ("OrderedDict", "an"), ("SentenceTransformer", "a"), ("splade", "a"),
    ("str", "a"), ("unicode", "a"), ("8-bit", "an"), ("11", "an"), ("1", "a"), ("t5", "a"),
])
def test_the_article_goes_by_how_the_word_is_said(word, expected):
    from precheck.words import article

    assert article(word) == expected


def test_a_count_of_one_is_singular_and_others_plural():
    from precheck.words import count, passing

    assert [count(n, "model") for n in (0, 1, 2)] == ["0 models", "1 model", "2 models"]
    assert passing(1, 1) == "1 of 1 model passes" and passing(0, 2) == "0 of 2 models pass"


def test_vllm_advice_for_an_mpnet_reads_an_mpnet():
    from precheck.engine.serving import _sixteen_bit_advice
    from precheck.kinds import kind_for
    from precheck.data.report import DtypeVerdict

    report = _report("mpnet", [DtypeVerdict("float16", True, "ok", "")], ("float16",))
    vllm = next(entry for entry in _sixteen_bit_advice(report, kind_for("sentence-transformer"))
                if entry.server == "vllm")
    assert "this is an mpnet" in vllm.note and " a mpnet" not in vllm.note


def _report(model_type, verdicts, dtypes):
    """The parts of a Report the serving advice reads."""
    from types import SimpleNamespace

    result = SimpleNamespace(dtype="float16", strategy="load", min_cosine=0.999998, top1_agreement=1.0,
                             spearman=None, nonfinite=0, status="ok")
    return SimpleNamespace(model=SimpleNamespace(kind="sentence-transformer", model_type=model_type),
                           verdict=SimpleNamespace(dtypes=verdicts), settings=SimpleNamespace(dtypes=dtypes),
                           results=[result], result=lambda dtype, strategy: result, fixes=[],
                           recommended_fix=lambda dtype: None, environment=SimpleNamespace(device="cpu"))
