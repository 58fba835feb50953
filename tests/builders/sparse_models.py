"""Builders of SPLADE test models (SparseEncoder): the all-MiniLM-L6-v2 encoder under a
masked-LM head initialised from a fixed seed, with SpladePooling; nothing downloaded."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fixture_models import plain_model_path, scale_feed_forward

# Short windows keep the 30522-wide MLM logits of the long probe texts cheap on a CPU.
MAX_SEQ_LENGTH = 64
SPARSE_OVERFLOW_LAYER = 2
# The cut the tests whose SPLADE weights matter only as a real model's do (tests/kinds, tests/repair) build:
# MiniLM's first three layers, the last of them the one that overflows.
SPARSE_TEST_LAYERS = SPARSE_OVERFLOW_LAYER + 1
# A fresh head activates nearly the whole vocabulary; this bias leaves about 1% of it active
# (a few hundred terms per text), as a trained SPLADE model does.
HEAD_BIAS = -3.7


def _masked_lm_folder(folder: Path, layers: int | None = None) -> Path:
    """BertForMaskedLM with MiniLM's encoder weights (its first `layers` layers, all six by default); the
    head's transform is fresh (seed 0), its decoder tied to the word embeddings, as in BERT."""
    import torch
    import transformers
    from transformers import AutoTokenizer, BertForMaskedLM

    transformers.logging.set_verbosity_error()  # the fresh head's "newly initialized" report is expected
    torch.manual_seed(0)
    model = BertForMaskedLM.from_pretrained(str(plain_model_path()))
    if layers is not None:
        model.bert.encoder.layer = model.bert.encoder.layer[:layers]
        model.config.num_hidden_layers = layers
    with torch.no_grad():
        model.cls.predictions.bias.fill_(HEAD_BIAS)
    model.save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(str(plain_model_path())).save_pretrained(str(folder))
    return folder


def _splade(masked_lm: Path):
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import SpladePooling, Transformer

    transformer = Transformer(str(masked_lm), transformer_task="fill-mask", max_seq_length=MAX_SEQ_LENGTH)
    return SparseEncoder(modules=[transformer, SpladePooling(pooling_strategy="max")], device="cpu")


def build_splade_model(folder: Path, overflow: bool = False, layers: int | None = None) -> Path:
    """A SPLADE SparseEncoder saved as users save one (model_type SparseEncoder). With
    `overflow`, one layer's feed-forward runs past float16's range (as fixture_models does); with
    `layers` (at least SPARSE_OVERFLOW_LAYER + 1), MiniLM's encoder cut to its first that many layers:
    the same real weights, a fraction of the time in each of a fix search's probe runs."""
    with tempfile.TemporaryDirectory() as scratch:
        model = _splade(_masked_lm_folder(Path(scratch) / "mlm", layers))
    if overflow:
        scale_feed_forward(model[0].auto_model.bert.encoder.layer[SPARSE_OVERFLOW_LAYER])
    if folder.exists():
        shutil.rmtree(folder)
    model.save(str(folder))
    return folder


def build_sparse_config_only(folder: Path) -> Path:
    """The plain MiniLM folder marked as a SparseEncoder in its config, for stacks that cannot
    build one (sentence-transformers 3.x): detection reads only the config."""
    import json

    shutil.copytree(plain_model_path(), folder)
    config = folder / "config_sentence_transformers.json"
    data = json.loads(config.read_text()) if config.is_file() else {}
    config.write_text(json.dumps({**data, "model_type": "SparseEncoder"}, indent=2))
    return folder


def build_tiny_splade_model(folder: Path) -> Path:
    """A tiny random BertForMaskedLM (hidden 64, the smallest 4-bit blocks take) whose decoder is tied to
    the word embeddings, under SpladePooling: the shape of a SPLADE model, for where weights do not matter."""
    import torch
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import SpladePooling, Transformer
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as scratch:
        masked_lm = Path(scratch) / "mlm"
        BertForMaskedLM(BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                                   max_position_embeddings=128)).save_pretrained(masked_lm)
        for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
            if (plain_model_path() / name).is_file():
                shutil.copy(plain_model_path() / name, masked_lm / name)
        transformer = Transformer(str(masked_lm), transformer_task="fill-mask", max_seq_length=MAX_SEQ_LENGTH)
        model = SparseEncoder(modules=[transformer, SpladePooling(pooling_strategy="max")], device="cpu")
    if folder.exists():
        shutil.rmtree(folder)
    model.save(str(folder))
    return folder
