"""A plain transformers checkpoint (no modules.json) is scanned with a word on what
sentence-transformers built, what it dropped, and the kind its architecture implies."""
from __future__ import annotations

import shutil

import pytest

from fixture_models import plain_model_path


@pytest.fixture(scope="module")
def masked_lm_folder(tmp_path_factory):
    """A tiny random BertForMaskedLM saved by transformers alone, as a SPLADE checkpoint is."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    folder = tmp_path_factory.mktemp("raw") / "mlm"
    torch.manual_seed(0)
    BertForMaskedLM(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                               max_position_embeddings=128)).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (plain_model_path() / name).is_file():
            shutil.copy(plain_model_path() / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def legacy_names_folder(masked_lm_folder, tmp_path_factory):
    """The same checkpoint with its LayerNorms under the old gamma/beta names, as older BERT
    checkpoints (and SPLADE models trained from them) are saved: transformers renames them at load."""
    from safetensors.torch import load_file, save_file

    folder = tmp_path_factory.mktemp("raw") / "mlm-gamma-beta"
    shutil.copytree(masked_lm_folder, folder)
    old = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
           for k, v in load_file(folder / "model.safetensors").items()}
    save_file(old, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


@pytest.fixture(scope="module")
def masked_lm_notes(masked_lm_folder, tiny_texts):
    from precheck import scan

    return scan(str(masked_lm_folder), dtypes="fp16", fix=False, texts_file=tiny_texts).notes


def test_the_pipeline_sentence_transformers_built_is_named(masked_lm_notes):
    assert any("no modules.json" in n and "Pooling (mean)" in n for n in masked_lm_notes)


def test_the_checkpoints_dropped_head_is_named(masked_lm_notes):
    assert any("not in the loaded model" in n and "cls.predictions" in n for n in masked_lm_notes)


def test_tensors_the_loader_renamed_are_not_reported_as_left_out(legacy_names_folder, tiny_texts):
    from precheck import scan

    notes = scan(str(legacy_names_folder), dtypes="fp16", fix=False, texts_file=tiny_texts).notes
    dropped = next(n for n in notes if "not in the loaded model" in n)
    # The encoder's ten LayerNorm tensors load as weight/bias; only the masked-LM head's five are left out.
    assert dropped.startswith("5 tensor(s)") and "bert." not in dropped and "cls.predictions" in dropped


def test_the_kind_the_architecture_implies_is_suggested(masked_lm_notes):
    assert any("--kind sparse-encoder" in n for n in masked_lm_notes)


def test_a_sentence_transformers_folder_gets_none_of_these_notes(tiny_model, tiny_texts):
    from precheck import scan

    notes = scan(str(tiny_model), dtypes="fp16", fix=False, texts_file=tiny_texts).notes
    assert not any("modules.json" in n or "--kind" in n or "not in the loaded model" in n for n in notes)
