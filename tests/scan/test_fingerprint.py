"""model_fingerprint: equal for identical weights, different when anything that decides outputs differs."""
from __future__ import annotations

import pytest


@pytest.fixture()
def tiny_bert():
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32)
    return BertModel(config).eval()


def test_fingerprint_of_a_copy_is_the_same(tiny_bert):
    import copy

    from precheck.loading.fingerprint import model_fingerprint

    assert model_fingerprint(copy.deepcopy(tiny_bert)) == model_fingerprint(tiny_bert)


def test_fingerprint_changes_with_one_weight(tiny_bert):
    import copy

    import torch

    from precheck.loading.fingerprint import model_fingerprint

    changed = copy.deepcopy(tiny_bert)
    with torch.no_grad():
        changed.encoder.layer[1].output.dense.weight[0, 0] += 1e-3
    assert model_fingerprint(changed) != model_fingerprint(tiny_bert)


def test_fingerprint_changes_with_a_float_buffer_dtype(tiny_bert):
    import copy

    import torch

    from precheck.loading.fingerprint import model_fingerprint

    changed = copy.deepcopy(tiny_bert)
    changed.register_buffer("scale", torch.ones(4))
    halved = copy.deepcopy(changed)
    halved.scale = halved.scale.half()
    assert model_fingerprint(changed) != model_fingerprint(halved)


def test_fingerprint_reads_bfloat16_weights(tiny_bert):
    import copy

    import torch

    from precheck.loading.fingerprint import model_fingerprint

    bf16 = copy.deepcopy(tiny_bert).to(torch.bfloat16)
    assert model_fingerprint(bf16) == model_fingerprint(copy.deepcopy(tiny_bert).to(torch.bfloat16))
    assert model_fingerprint(bf16) != model_fingerprint(tiny_bert)
