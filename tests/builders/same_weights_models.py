"""Builders for the same-weights tests: a model whose float16 `load` and `cast` differ.

ModernBERT keeps its rotary `inv_freq` buffers in float32 when loaded with torch_dtype, and
`.to(float16)` casts them: same parameters, different buffers (failure mode 17).
"""
from __future__ import annotations

from pathlib import Path

from fixture_models import plain_model_path


def build_rotary_buffer_model(folder: Path) -> Path:
    """A tiny random ModernBERT (hidden 64, 2 layers) with MiniLM's tokenizer and mean pooling."""
    import torch
    from transformers import AutoTokenizer, ModernBertConfig, ModernBertModel

    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers 3.x
        from sentence_transformers.models import Pooling, Transformer
    from sentence_transformers import SentenceTransformer

    hf_folder = folder.parent / f"{folder.name}-hf"
    tokenizer = AutoTokenizer.from_pretrained(str(plain_model_path()))
    config = ModernBertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=128, max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
        cls_token_id=tokenizer.cls_token_id, sep_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id, reference_compile=False,
    )
    torch.manual_seed(0)
    ModernBertModel(config).save_pretrained(str(hf_folder))
    tokenizer.save_pretrained(str(hf_folder))
    transformer = Transformer(str(hf_folder), max_seq_length=128)
    pooling = Pooling(64)
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(folder))
    return folder
