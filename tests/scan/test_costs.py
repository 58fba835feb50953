"""What a scan costs the user: a sparse encoder's logits held under a budget however long the texts, and
a dtype that passes on the CPU said to run slower than float32 when it does (issue 35, item 6)."""
from __future__ import annotations

import pytest

from conftest import invoke


@pytest.fixture(scope="module")
def tiny_splade(tmp_path_factory):
    from sparse_models import build_tiny_splade_model

    return build_tiny_splade_model(tmp_path_factory.mktemp("splade") / "tiny-splade")


def test_sparse_texts_are_encoded_in_groups_whose_logits_fit_the_budget(tiny_splade):
    from sentence_transformers import SparseEncoder

    from precheck.kinds import sparse_encoder
    from precheck.kinds.texts import builtin_texts

    model = SparseEncoder(str(tiny_splade), device="cpu")
    texts = builtin_texts(model.max_seq_length)
    lengths = [len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]]
    per_token = model.tokenizer.vocab_size * 4 * sparse_encoder.LOGITS_COPIES
    groups = sparse_encoder._groups(model, texts, 32)
    assert sorted(i for group, _ in groups for i in group) == list(range(len(texts)))
    for group, size in groups:
        assert size == len(group) <= 32
        assert len(group) == 1 or len(group) * max(lengths[i] for i in group) * per_token <= sparse_encoder.LOGITS_BUDGET


def test_sparse_outputs_do_not_depend_on_the_grouping(tiny_splade, monkeypatch):
    import torch
    from sentence_transformers import SparseEncoder

    from precheck.kinds import sparse_encoder
    from precheck.kinds.texts import builtin_texts

    model = SparseEncoder(str(tiny_splade), device="cpu")
    texts = builtin_texts(model.max_seq_length)
    grouped, _ = sparse_encoder.SparseEncoderKind().run(model, texts, 32)
    monkeypatch.setattr(sparse_encoder, "LOGITS_BUDGET", float("inf"))
    whole, _ = sparse_encoder.SparseEncoderKind().run(model, texts, 32)
    assert grouped.shape == whole.shape == (len(texts), 2, model.tokenizer.vocab_size)
    assert torch.allclose(grouped, whole, atol=1e-4)


@pytest.fixture(scope="module")
def fp16_on_cpu(tiny_model, tiny_texts):
    from precheck import scan

    return scan(str(tiny_model), dtypes="fp16", texts_file=tiny_texts, device="cpu")


def test_a_dtype_passing_on_the_cpu_carries_its_encode_time_against_float32(fp16_on_cpu):
    verdict = fp16_on_cpu.verdict.dtypes[0]
    load = fp16_on_cpu.result("float16", "load")
    assert verdict.passed and fp16_on_cpu.environment.device == "cpu"
    ratio = load.seconds / fp16_on_cpu.reference.seconds
    assert verdict.cpu_time_ratio == round(ratio, 2)
    assert f"on this CPU it took {ratio:.1f}x float32's encode time" in verdict.summary


def test_the_terminal_verdict_line_gives_the_cpu_time_ratio(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--dtype", "fp16", "--texts", tiny_texts, "--device", "cpu", "--no-fix")
    assert run.exit_code == 0
    assert "x float32's encode time" in " ".join(run.stdout.split())  # however the line wraps
