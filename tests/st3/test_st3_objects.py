"""issue 29 on sentence-transformers 3.0.1: an in-memory SentenceTransformer is scanned and left as it was,
assert_survives gates it, and the callback is made (its trainer, SentenceTransformerTrainer, exists here)."""
from __future__ import annotations

from object_models import object_digest, tiny_object


def test_st3_assert_survives_an_object_and_leaves_it_as_it_was(tmp_path, tiny_texts):
    from precheck.testing import assert_survives

    model = tiny_object("sentence-transformer", tmp_path)
    model.train()
    before = object_digest(model)
    report = assert_survives(model, "fp16", texts_file=tiny_texts)
    assert report.model.source == "object" and object_digest(model) == before


def test_st3_callback_is_made_where_the_trainer_exists():
    from sentence_transformers import SentenceTransformerTrainer  # noqa: F401 - 3.0 has it
    from precheck.integrations import PrecheckCallback

    assert PrecheckCallback(dtypes="fp16").options.dtypes == ("float16",)
