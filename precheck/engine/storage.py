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
from ..report import StorageCheck, StorageResult

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
    """One precision's vectors as the index holds them: search scores, and the candidates' vectors
    that a float query rescores (semantic_search_faiss's dequantized or unpacked corpus)."""

    scores: object  # (queries, corpus) array: larger is nearer
    rescore_vectors: object | None  # (corpus, dim) float array; None: nothing to rescore


def _unit(vectors):
    import numpy as np

    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _cosine(a, b):
    return _unit(a) @ _unit(b).T


def _store(embeddings, precision: str, calibration) -> _Stored:
    import numpy as np
    from sentence_transformers import quantize_embeddings

    if precision == "float32":
        return _Stored(_cosine(embeddings, embeddings), None)
    if precision == "float16":
        # pgvector's halfvec and Qdrant's float16 keep the halves and compute the distance in float32.
        half = embeddings.astype(np.float16).astype(np.float32)
        return _Stored(_cosine(half, half), None)
    if precision in ("int8", "uint8"):
        ranges = np.vstack((calibration.min(axis=0), calibration.max(axis=0))).astype(np.float32)
        stored = quantize_embeddings(embeddings, precision=precision, ranges=ranges).astype(np.float64)
        # Integer inner product, as usearch's i8 index and FAISS's flat index over uint8 codes score.
        scores = stored @ stored.T
        # Back to the float coordinates for rescoring, as sentence-transformers 6 does (3.x rescored the raw codes).
        steps = (ranges[1] - ranges[0]) / 255
        steps = np.where(steps == 0, 1, steps)
        return _Stored(scores, (stored + (128 if precision == "int8" else 0)) * steps + ranges[0])
    packed = quantize_embeddings(embeddings, precision=precision)
    # binary is ubinary shifted by -128 per byte (int8 storage): shifted back, the same bits, so every
    # figure is the same; the two differ only in the type the index takes (int8 or uint8).
    unsigned = (packed.astype(np.int16) + 128).astype(np.uint8) if precision == "binary" else packed
    bits = np.unpackbits(unsigned, axis=1)[:, : embeddings.shape[1]].astype(np.float32)
    hamming = bits @ (1 - bits).T + (1 - bits) @ bits.T
    return _Stored(-hamming, bits)


def _top(scores, k: int):
    import numpy as np

    # Stable sort: ties (common in Hamming distances) go to the lower corpus index, as a flat index returns them.
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def _recall(found, truth) -> float:
    k = truth.shape[1]
    return float(sum(len(set(f[:k]) & set(t)) for f, t in zip(found, truth)) / (len(truth) * k))


def _rescored(stored: _Stored, queries, k: int, multiplier: int):
    import numpy as np

    candidates = _top(stored.scores, k * multiplier)
    # The float query against each candidate's stored vector (semantic_search_faiss's einsum).
    rescores = np.einsum("ij,ikj->ik", queries.astype(np.float64), stored.rescore_vectors[candidates])
    order = np.argsort(-rescores, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)


def _mean_spearman(reference, scores) -> float:
    """Mean over queries of the rank correlation of one query's scores for every corpus vector:
    only the order within one query's results matters to a search."""
    import numpy as np
    from scipy.stats import rankdata

    a = rankdata(reference, axis=1)
    b = rankdata(scores, axis=1)
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    rho = np.where(denominator > 0, (a * b).sum(axis=1) / np.where(denominator > 0, denominator, 1), 1.0)
    return float(rho.mean())


def _without_self(scores):
    """Each query is also in the corpus: its own vector is no neighbour (leave-one-out)."""
    import numpy as np

    scores = scores.astype(np.float64, copy=True)
    np.fill_diagonal(scores, -np.inf)
    return scores


def split_rows(rows: list[int], held_apart: bool) -> tuple[list[int], list[int]]:
    """(searched, calibration) rows: every HOLD_APART-th row calibrates unless a file does."""
    if not held_apart:
        return list(rows), []
    return ([r for i, r in enumerate(rows) if i % HOLD_APART != HOLD_APART - 1],
            [r for i, r in enumerate(rows) if i % HOLD_APART == HOLD_APART - 1])


def measure_storage(reference, runs: dict, rows: list[int], precisions: tuple[str, ...], min_recall: float,
                    calibration=None, calibration_source: str = "held-apart", *, rescore_multiplier: int) -> StorageCheck:
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
    truth_scores = _without_self(_cosine(reference[searched], reference[searched]))
    truth = _top(truth_scores, K)
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
            scores = _without_self(stored.scores)
            found = _top(scores, K)
            rescored = None
            if stored.rescore_vectors is not None:
                stored.scores = scores
                rescored = _rescored(stored, corpus, K, rescore_multiplier)
            figures = {
                "recall_at_1": _recall(found[:, :1], truth[:, :1]),
                "recall_at_10": _recall(found, truth),
                "recall_at_1_rescored": None if rescored is None else _recall(rescored[:, :1], truth[:, :1]),
                "recall_at_10_rescored": None if rescored is None else _recall(rescored, truth),
            }
            # The diagonal is left out of the rank correlation too: -inf ties on both sides.
            off = ~np.eye(len(searched), dtype=bool)
            spearman = _mean_spearman(truth_scores[off].reshape(len(searched), -1),
                                      scores[off].reshape(len(searched), -1))
            gated = figures["recall_at_10_rescored"] if rescored is not None else figures["recall_at_10"]
            results.append(StorageResult(
                model_dtype=dtype, precision=precision, bytes_per_vector=bytes_per_vector(precision, corpus.shape[1]),
                **{k: None if v is None else round(v, 6) for k, v in figures.items()},
                spearman=round(spearman, 6), passed=gated >= min_recall,
                seconds=round(time.perf_counter() - row_start, 6),
            ))
    return StorageCheck(
        precisions=list(precisions), min_recall=min_recall, k=K, rescore_multiplier=rescore_multiplier,
        corpus=len(searched), calibration=calibration_source,
        calibration_items=len(held) if calibration is None else int(np.asarray(calibration).shape[0]),
        dimensions=int(reference.shape[1]), results=results, passed=all(r.passed for r in results),
        seconds=round(time.perf_counter() - start, 6),
    )
