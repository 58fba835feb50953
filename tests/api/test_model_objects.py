"""precheck.scan and precheck.fix on a model object (issue 29): each of the four kinds scanned in
memory comes out identical; the float32 reference is the object itself when it can be; name-only
options are refused in one line; fix returns a fixed copy and its plan."""
from __future__ import annotations

import pytest

import precheck
from object_models import KINDS, object_digest, scale_feed_forward, tiny_object


@pytest.fixture(scope="module")
def objects(tmp_path_factory):
    folder = tmp_path_factory.mktemp("objects")
    return {kind: tiny_object(kind, folder) for kind in KINDS}


@pytest.fixture(scope="module")
def short_probe(tiny_texts, pairs_file) -> dict[str, dict]:
    """Per kind, the short texts, or the pairs for the kinds probed with pairs: the built-in set is not
    what is tested here."""
    return {kind: {"pairs_file": pairs_file} if kind in ("cross-encoder", "multi-vector-encoder")
            else {"texts_file": tiny_texts} for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_scan_of_an_object_leaves_it_identical(objects, short_probe, kind):
    model = objects[kind]
    model.train()  # as a trainer holds it
    before = object_digest(model)
    report = precheck.scan(model, dtypes="fp16", fix=False, **short_probe[kind])
    assert object_digest(model) == before
    assert model.training
    assert report.model.source == "object"
    assert report.model.kind == kind
    assert report.model.in_memory.class_name == type(model).__name__
    assert report.model.in_memory.modules and report.model.in_memory.dtype == "float32"
    assert [r.strategy for r in report.results] == ["load", "cast"]
    assert "load == cast" in " ".join(report.notes)


def test_the_float32_reference_is_the_object_itself(objects, tiny_texts, monkeypatch):
    # The reference computed, not reused: an earlier test scanned this same object with the cache on.
    monkeypatch.setenv("PRECHECK_NO_CACHE", "1")
    model = objects["sentence-transformer"]
    ran: list[int] = []
    handle = model[0].register_forward_hook(lambda module, args, out: ran.append(id(module)))
    try:
        precheck.scan(model, dtypes="fp16", fix=False, texts_file=tiny_texts)
    finally:
        handle.remove()
    assert id(model[0]) in ran  # the object encoded the reference: no float32 copy was made


def test_a_float16_object_stays_float16_and_is_reported_as_such(tmp_path, tiny_texts):
    import torch

    model = tiny_object("sentence-transformer", tmp_path).half()
    before = object_digest(model)
    report = precheck.scan(model, dtypes="fp16", fix=False, texts_file=tiny_texts)
    assert object_digest(model) == before
    assert next(model.parameters()).dtype == torch.float16
    assert report.model.in_memory.dtype == "float16" and report.model.default_dtype == "float16"
    assert report.verdict.passed


@pytest.mark.parametrize("option", [{"revision": "main"}, {"model_kwargs": {"attn_implementation": "eager"}},
                                    {"trust_remote_code": True}, {"max_seq_length": 16}])
def test_name_only_options_are_refused_for_an_object(objects, option):
    with pytest.raises(precheck.PrecheckError) as raised:
        precheck.scan(objects["sentence-transformer"], **option)
    message = str(raised.value)
    assert "\n" not in message and next(iter(option)) in message and "in-memory SentenceTransformer" in message


def test_an_object_that_is_not_a_model_is_refused():
    import torch

    with pytest.raises(precheck.PrecheckError, match="Linear is not a model precheck can scan"):
        precheck.scan(torch.nn.Linear(2, 2))


def test_fix_of_an_object_returns_a_fixed_copy_and_its_plan(tmp_path, tiny_texts):
    import torch

    model = tiny_object("sentence-transformer", tmp_path)
    layer = scale_feed_forward(model, 1e6)
    before = object_digest(model)
    report = precheck.scan(model, dtypes="fp16", fix=False, texts_file=tiny_texts)
    assert not report.verdict.passed
    assert any(d.module.startswith(layer) or layer.startswith(d.module) for d in report.diagnoses if d.module)
    fixed, plan = precheck.fix(model, "fp16", texts_file=tiny_texts)
    assert object_digest(model) == before and fixed is not model
    assert plan.strategy != "load"
    embeddings = fixed.encode(["a short text", "another one"], convert_to_tensor=True)
    assert bool(torch.isfinite(embeddings).all())
