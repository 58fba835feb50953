"""How --eval turns texts into what a kind scores, and scores it in float32, whatever precision made it.

Three representations, each kind picking its own (kinds/*.py's eval_encode and eval_scores):
- dense rows (embedders): unit rows in float32, scored by cosine;
- sparse rows over the vocabulary (sparse encoders): a float32 sparse COO tensor, scored by dot product;
- token vectors (multi-vector encoders): `TokenVectors`, scored by MaxSim (each query token's best
  document token, summed over the query's tokens) in float32.
Scoring a block of queries against the whole corpus holds at most BLOCK_ELEMENTS token products at once
for MaxSim, so memory grows with the corpus, never with queries x corpus x tokens.
"""
from __future__ import annotations

from dataclasses import dataclass

# Token products held at once by MaxSim: 2**24 float32 are 64 MiB.
BLOCK_ELEMENTS = 1 << 24


@dataclass
class TokenVectors:
    """Texts as token vectors: float32 [texts, tokens, dim], zero-padded, and which tokens are real."""

    vectors: object
    mask: object  # bool [texts, tokens]

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


def _method(model, role: str, encode_kwargs: dict, always_role: bool):
    """encode_query / encode_document (their prompts) where the model has them and no --prompt or
    --prompt-name is given; `always_role`: even then (a prompt given is passed to them)."""
    method = getattr(model, f"encode_{role}", None) if role and (always_role or not encode_kwargs) else None
    return method or model.encode


def dense(model, texts: list[str], role: str, batch_size: int, encode_kwargs: dict):
    """Unit rows in float32 (a torch tensor), encoded as sentence-transformers' evaluators encode."""
    import numpy as np

    out = _method(model, role, encode_kwargs, False)(texts, batch_size=batch_size, show_progress_bar=False,
                                                     **encode_kwargs)
    if hasattr(out, "float"):  # a tensor (bfloat16 has no NumPy type)
        out = out.float().cpu().numpy()
    return dense_rows(np.asarray(out, dtype=np.float32))


def dense_rows(embeddings):
    """Embeddings (a float32 array, the model's own values upcast) as unit rows in float32 (a torch tensor)."""
    import torch

    return torch.nn.functional.normalize(torch.as_tensor(embeddings, dtype=torch.float32), p=2, dim=1)


def sparse(model, texts: list[str], role: str, groups, encode_kwargs: dict):
    """[texts, vocabulary] float32 sparse COO rows, encoded a group at a time (`groups`: (text indices,
    batch size), as the sparse kind bounds its logits) through encode_query / encode_document."""
    import torch

    encode = _method(model, role, encode_kwargs, True)
    indices, values, width = [], [], 0
    for group, size in groups:
        out = encode([texts[i] for i in group], batch_size=size, show_progress_bar=False,
                     convert_to_sparse_tensor=True, **encode_kwargs)
        out = (out if out.is_sparse else out.to_sparse()).coalesce().cpu()
        width = max(width, int(out.shape[-1]))
        where = out.indices()
        rows = torch.as_tensor(group, dtype=torch.long)[where[0]]
        indices.append(torch.stack([rows, where[1]]))
        values.append(out.values().float())
    return torch.sparse_coo_tensor(torch.cat(indices, dim=1), torch.cat(values), (len(texts), width),
                                   check_invariants=True).coalesce()


def token_vectors(model, texts: list[str], role: str, batch_size: int, encode_kwargs: dict) -> TokenVectors:
    """Each text's token vectors (the model's mask already applied) in float32, padded together."""
    import torch

    out = _method(model, role, encode_kwargs, True)(texts, batch_size=batch_size, show_progress_bar=False,
                                                    **encode_kwargs)
    items = [torch.as_tensor(item).float().cpu().reshape(len(item), -1) for item in out]
    dim = max((item.shape[1] for item in items), default=1)
    width = max(1, max(len(item) for item in items))
    vectors = torch.zeros(len(items), width, dim)
    mask = torch.zeros(len(items), width, dtype=torch.bool)
    for row, item in enumerate(items):
        vectors[row, :len(item), :item.shape[1]] = item
        mask[row, :len(item)] = True
    return TokenVectors(vectors, mask)


def rows(encoded, start: int, stop: int):
    """Rows start..stop of any representation."""
    import torch

    if isinstance(encoded, TokenVectors):
        return TokenVectors(encoded.vectors[start:stop], encoded.mask[start:stop])
    if encoded.is_sparse:
        return encoded.index_select(0, torch.arange(start, stop))
    return encoded[start:stop]


def count(encoded) -> int:
    return len(encoded) if isinstance(encoded, TokenVectors) else int(encoded.shape[0])


def nonfinite(encoded) -> int:
    """Texts whose representation holds a NaN/inf."""
    import torch

    if isinstance(encoded, TokenVectors):
        bad = ~torch.isfinite(encoded.vectors).all(dim=2) & encoded.mask
        return int(bad.any(dim=1).sum())
    if encoded.is_sparse:
        bad = ~torch.isfinite(encoded.values())
        return int(torch.unique(encoded.indices()[0][bad]).numel())
    return int((~torch.isfinite(encoded)).any(dim=1).sum()) if encoded.numel() else 0


def cosine_scores(queries, documents, pairwise: bool = False):
    """Unit rows' cosines in float32: [queries, documents], or row i against row i."""
    return (queries * documents).sum(dim=1) if pairwise else queries @ documents.T


def dot_scores(queries, documents, pairwise: bool = False):
    """Sparse rows' dot products in float32 (dense result): the sparse corpus times a few queries made dense
    at a time (BLOCK_ELEMENTS numbers of them), never a sparse product as large as queries x corpus."""
    import torch

    if pairwise:
        return (queries * documents).sum(dim=1).to_dense()
    step = max(1, BLOCK_ELEMENTS // max(int(queries.shape[1]), 1))
    return torch.cat([torch.sparse.mm(documents, rows(queries, s, min(s + step, count(queries))).to_dense().T).T
                      for s in range(0, count(queries), step)]) if count(queries) else \
        torch.zeros(0, count(documents))


def _maxsim_chunk(queries: TokenVectors, documents: TokenVectors, pairwise: bool):
    import torch

    products = torch.einsum("aqh,akh->aqk" if pairwise else "aqh,bkh->abqk", queries.vectors, documents.vectors)
    doc_mask = documents.mask[:, None, :] if pairwise else documents.mask[None, :, None, :]
    best = products.masked_fill(~doc_mask, -torch.inf).max(dim=-1).values
    query_mask = queries.mask if pairwise else queries.mask[:, None, :]
    return torch.where(query_mask, best, torch.zeros((), dtype=best.dtype)).sum(dim=-1)


def maxsim_scores(queries: TokenVectors, documents: TokenVectors, pairwise: bool = False):
    """MaxSim in float32: [queries, documents], or pair i's; documents taken a chunk at a time so that
    the token products stay within BLOCK_ELEMENTS. A document with no token scores -inf."""
    import torch

    per_pair = queries.vectors.shape[1] * documents.vectors.shape[1]
    if pairwise:
        step = max(1, BLOCK_ELEMENTS // max(per_pair, 1))
        return torch.cat([_maxsim_chunk(rows(queries, s, s + step), rows(documents, s, s + step), True)
                          for s in range(0, len(queries), step)])
    step = max(1, BLOCK_ELEMENTS // max(per_pair * len(queries), 1))
    return torch.cat([_maxsim_chunk(queries, rows(documents, s, s + step), False)
                      for s in range(0, len(documents), step)], dim=1)


def pair_scores(kind, model, pairs: list[tuple[str, str]], batch_size: int, encode_kwargs: dict):
    """A bi-encoder's score of each pair: both sides encoded apart, scored row against row, in float32."""
    a = kind.eval_encode(model, [first for first, _ in pairs], "", batch_size, encode_kwargs)
    b = kind.eval_encode(model, [second for _, second in pairs], "", batch_size, encode_kwargs)
    return kind.eval_scores(a, b, pairwise=True).numpy()
