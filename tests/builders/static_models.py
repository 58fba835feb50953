"""A sentence-transformers `StaticEmbedding` model (the shape of static-retrieval-mrl-en-v1): no transformer,
no window, a bare `tokenizers.Tokenizer`, an EmbeddingBag whose table is MiniLM's real word embeddings (so the
figures mean something), then Normalize."""
from __future__ import annotations

from pathlib import Path

from fixture_models import plain_model_path


def static_object():
    """The static model as an object in memory, on the CPU in float32."""
    import torch
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(plain_model_path() / "tokenizer.json"))
    table = load_file(str(plain_model_path() / "model.safetensors"))["embeddings.word_embeddings.weight"]
    static = StaticEmbedding(tokenizer, embedding_weights=table.to(torch.float32).clone())
    return SentenceTransformer(modules=[static, Normalize()], device="cpu")


def build_static_model(folder: Path) -> Path:
    """The static model saved as a sentence-transformers folder."""
    if not (folder / "modules.json").is_file():
        static_object().save(str(folder))
    return folder
