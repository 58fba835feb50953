"""Storage precision: the scan's own embeddings stored as vector indexes store them (float16, int8,
uint8, binary, ubinary), searched as indexes search them, and measured against float32 exact search.

Pure core: no model load and no encode of its own (docs/storage.md); numpy and sentence-transformers'
`quantize_embeddings` only, imported inside the functions that need them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import PrecheckError
from ..data.report import StorageCheck, StorageResult

FLOAT_PRECISIONS = ("float32", "float16")
K = 10
# recall@10 after rescoring (plain recall@10 for float16/float32, which nothing rescores); chosen
# from all-MiniLM-L6-v2's figures in docs/storage.md: int8 and ubinary pass it, the model's own
# float16 drift (recall 0.99+) is far above it, an index that loses a fifth of the neighbours fails.
DEFAULT_MIN_RECALL = 0.8
# Every HOLD_APART-th text calibrates int8/uint8 and is left out of the search, so that the ranges
# never come from the vectors they are measured on (sentence-transformers warns against that).
HOLD_APART = 4
CORPUS_FILE = Path(__file__).parent.parent / "data" / "storage_corpus.txt"


def check_min_recall(value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise PrecheckError(f"--min-recall must be in [0, 1], got {value}")


def builtin_corpus() -> list[str]:
    return [line for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def bytes_per_vector(precision: str, dim: int) -> int:
    return {"float32": 4 * dim, "float16": 2 * dim, "int8": dim, "uint8": dim}.get(precision, (dim + 7) // 8)


@dataclass
class _Stored:
    """One precision's vectors as the index holds them: how a block of queries scores against them,
    and the candidates' vectors that a float query rescores (semantic_search_faiss's dequantized or
    unpacked corpus). Scores are made a block of rows at a time (neighbours.py), never all at once."""

    vectors: object  # (corpus, dim) array that `score` takes
    score: object  # (query vectors, corpus vectors) -> (queries, corpus) float64 array: larger is nearer
    rescore_vectors: object | None  # (corpus, dim) float array; None: nothing to rescore

    def scores(self, start: int, stop: int):
        return self.score(self.vectors[start:stop], self.vectors)


def _unit(vectors):
    import numpy as np

    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _dot(a, b):
    import numpy as np

    return np.asarray(a @ b.T, dtype=np.float64)


def _hamming(a, b):
    return -(a @ (1 - b).T + (1 - a) @ b.T).astype("float64")


def _store(embeddings, precision: str, calibration) -> _Stored:
    import numpy as np
    from sentence_transformers import quantize_embeddings

    if precision == "float32":
        return _Stored(_unit(embeddings), _dot, None)
    if precision == "float16":
        # pgvector's halfvec and Qdrant's float16 keep the halves and compute the distance in float32.
        half = embeddings.astype(np.float16).astype(np.float32)
        return _Stored(_unit(half), _dot, None)
    if precision in ("int8", "uint8"):
        ranges = np.vstack((calibration.min(axis=0), calibration.max(axis=0))).astype(np.float32)
        stored = quantize_embeddings(embeddings, precision=precision, ranges=ranges).astype(np.float64)
        # Back to the float coordinates for rescoring, as sentence-transformers 6 does (3.x rescored the raw codes).
        steps = (ranges[1] - ranges[0]) / 255
        steps = np.where(steps == 0, 1, steps)
        # Integer inner product, as usearch's i8 index and FAISS's flat index over uint8 codes score.
        return _Stored(stored, _dot, (stored + (128 if precision == "int8" else 0)) * steps + ranges[0])
    packed = quantize_embeddings(embeddings, precision=precision)
    # binary is ubinary shifted by -128 per byte (int8 storage): shifted back, the same bits, so every
    # figure is the same; the two differ only in the type the index takes (int8 or uint8).
    unsigned = (packed.astype(np.int16) + 128).astype(np.uint8) if precision == "binary" else packed
    bits = np.unpackbits(unsigned, axis=1)[:, : embeddings.shape[1]].astype(np.float32)
    return _Stored(bits, _hamming, bits)


def _top(stored: _Stored, count: int):
    """Each query's `count` best corpus rows, itself never among them (leave-one-out: each query is
    also in the corpus), at most corpus - 1 of them."""
    import numpy as np

    from ..compare.neighbours import row_blocks, top_others

    rows = stored.vectors.shape[0]
    return np.concatenate([top_others(stored.scores(start, stop), start, count)
                           for start, stop in row_blocks(rows, rows)])


def _recall(found, truth) -> float:
    k = truth.shape[1]
    return float(sum(len(set(f[:k]) & set(t)) for f, t in zip(found, truth)) / (len(truth) * k))


def _rescored(stored: _Stored, queries, k: int, multiplier: int):
    """The index's k × multiplier candidates (never the query itself, so at most corpus - 1 of
    them), reordered by the float query against each candidate's stored vector."""
    import numpy as np

    from ..compare.neighbours import BLOCK_ELEMENTS

    candidates = _top(stored, k * multiplier)
    per_block = max(1, BLOCK_ELEMENTS // max(1, candidates.shape[1] * queries.shape[1]))
    queries = queries.astype(np.float64)
    for start in range(0, len(candidates), per_block):
        block = candidates[start:start + per_block]
        # The float query against each candidate's stored vector (semantic_search_faiss's einsum).
        rescores = np.einsum("ij,ikj->ik", queries[start:start + per_block], stored.rescore_vectors[block])
        order = np.argsort(-rescores, axis=1, kind="stable")
        candidates[start:start + per_block] = np.take_along_axis(block, order, axis=1)
    return candidates


# Spearman over every corpus row ranks corpus² scores: past this many queries it is taken over this
# many, evenly spaced through the corpus, each still against the whole corpus (docs/storage.md).
SPEARMAN_QUERIES = 1000


def spearman_queries(rows: int):
    import numpy as np

    if rows <= SPEARMAN_QUERIES:
        return np.arange(rows)
    return np.unique(np.linspace(0, rows - 1, SPEARMAN_QUERIES).round().astype(np.int64))


def _mean_spearman(reference: _Stored, stored: _Stored) -> float:
    """Mean over queries of the rank correlation of one query's scores for every other corpus vector:
    only the order within one query's results matters to a search."""
    import numpy as np
    from scipy.stats import rankdata

    from ..compare.neighbours import row_blocks

    rows = reference.vectors.shape[0]
    queries = spearman_queries(rows)
    rho = []
    for start, stop in row_blocks(len(queries), rows):
        chosen = queries[start:stop]
        # Each query's own column is left out on both sides (it would be a tie at -inf).
        off = np.arange(rows)[None, :] != chosen[:, None]
        shape = (len(chosen), rows - 1)
        a = rankdata(reference.score(reference.vectors[chosen], reference.vectors)[off].reshape(shape), axis=1)
        b = rankdata(stored.score(stored.vectors[chosen], stored.vectors)[off].reshape(shape), axis=1)
        a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
        denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
        rho.append(np.where(denominator > 0, (a * b).sum(axis=1) / np.where(denominator > 0, denominator, 1), 1.0))
    return float(np.concatenate(rho).mean())


def split_rows(rows: list[int], held_apart: bool) -> tuple[list[int], list[int]]:
    """(searched, calibration) rows: every HOLD_APART-th row calibrates unless a file does."""
    if not held_apart:
        return list(rows), []
    return ([r for i, r in enumerate(rows) if i % HOLD_APART != HOLD_APART - 1],
            [r for i, r in enumerate(rows) if i % HOLD_APART == HOLD_APART - 1])


def measure_storage(reference, runs: dict, rows: list[int], precisions: tuple[str, ...], min_recall: float,
                    calibration=None, calibration_source: str = "held-apart", *, rescore_multiplier: int,
                    rescore_with: str = "quantized") -> StorageCheck:
    """reference: the float32 run's embeddings; runs: model dtype -> that run's embeddings (float32
    first); rows: the probe items that form the corpus; calibration: int8/uint8 calibration
    embeddings (a --calibration file's, encoded once by the float32 model) or None to hold apart;
    rescore_multiplier: the index returns that many times k candidates for the float query to rescore."""
    import numpy as np

    start = time.perf_counter()
    reference = np.asarray(reference, dtype=np.float32)
    finite = [r for r in rows if np.isfinite(reference[r]).all()]
    searched, held = split_rows(finite, calibration is None)
    if len(searched) <= K:
        raise PrecheckError(f"--storage needs more than {K} texts to search, got {len(searched)}",
                            f"give at least {K * 2} texts with --texts, or leave --texts out for the built-in corpus")
    truth_stored = _store(reference[searched], "float32", None)
    truth = _top(truth_stored, K)
    results = []
    for dtype, embeddings in runs.items():
        # Unit length first, as cosine indexes store them (Qdrant normalises on upload for Cosine) and as
        # sentence-transformers normalises before quantizing: the int8 inner product and the rescoring
        # dot product then rank as cosine does. Binary keeps only signs, which this does not change.
        embeddings = _unit(np.asarray(embeddings, dtype=np.float32))
        corpus = embeddings[searched]
        calibrating = _unit(np.asarray(calibration, dtype=np.float32)) if calibration is not None else embeddings[held]
        for precision in precisions:
            row_start = time.perf_counter()
            stored = _store(corpus, precision, calibrating)
            found = _top(stored, K)
            if rescore_with == "original" and stored.rescore_vectors is not None:
                stored.rescore_vectors = corpus  # the float vectors an index keeps beside the quantized ones
            rescored = None if stored.rescore_vectors is None else _rescored(stored, corpus, K, rescore_multiplier)
            figures = {
                "recall_at_1": _recall(found[:, :1], truth[:, :1]),
                "recall_at_10": _recall(found, truth),
                "recall_at_1_rescored": None if rescored is None else _recall(rescored[:, :1], truth[:, :1]),
                "recall_at_10_rescored": None if rescored is None else _recall(rescored, truth),
            }
            spearman = _mean_spearman(truth_stored, stored)
            gated = figures["recall_at_10_rescored"] if rescored is not None else figures["recall_at_10"]
            results.append(StorageResult(
                model_dtype=dtype, precision=precision, bytes_per_vector=bytes_per_vector(precision, corpus.shape[1]),
                **{k: None if v is None else round(v, 6) for k, v in figures.items()},
                spearman=round(spearman, 6), passed=gated >= min_recall,
                seconds=round(time.perf_counter() - row_start, 6),
            ))
    return StorageCheck(
        precisions=list(precisions), min_recall=min_recall, k=K, rescore_multiplier=rescore_multiplier,
        rescore_with=rescore_with,
        corpus=len(searched), calibration=calibration_source,
        calibration_items=len(held) if calibration is None else int(np.asarray(calibration).shape[0]),
        dimensions=int(reference.shape[1]), results=results, passed=all(r.passed for r in results),
        seconds=round(time.perf_counter() - start, 6),
    )
