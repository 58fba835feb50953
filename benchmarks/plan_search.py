"""Probe runs and seconds of the keep-fp32 search on the two-culprit model (layers 1 and 4 overflow
in float16) against a naive search that tries each block alone. Run from the repo root:
    PYTHONPATH=.:tests HF_HUB_OFFLINE=1 python benchmarks/plan_search.py
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path


def main() -> None:
    import shape_models
    from conftest import PROBE_TEXTS

    from precheck.keep_search import PlanProbe, search_keep_fp32
    from precheck.localise import block_paths
    from precheck.plans import Plan
    from precheck.report import Diagnosis
    from precheck.scanner import ScanOptions, start_session

    folder = Path(tempfile.mkdtemp())
    model = shape_models.build_two_overflow_model(folder / "two-overflow")
    texts = folder / "texts.txt"
    texts.write_text("\n".join(PROBE_TEXTS) + "\n", encoding="utf-8")
    session, _ = start_session(ScanOptions(model=str(model), dtypes=("float16",), device="cpu", texts_file=texts))
    first = Diagnosis("float16", "load", "overflow", "0.model.encoder.layer.1.intermediate.dense", "")

    start = time.perf_counter()
    probe = PlanProbe(session, "float16")
    found = search_keep_fp32(probe, first)
    rows = [("culprit by culprit", probe.runs, time.perf_counter() - start, found.plan is not None, found.share)]

    start = time.perf_counter()
    naive = PlanProbe(session, "float16")
    structure = naive.ensure_structure()
    passed = None
    for path in block_paths(session.load(None)):
        if naive.verify(Plan("float16", "keep-fp32", [path])).status == "ok":
            passed = path
            break
    share = structure.share([passed]) if passed else 0.0
    rows.append(("each block alone", naive.runs, time.perf_counter() - start, passed is not None, share))

    print(f"{'search':<20} {'probe runs':>10} {'seconds':>8} {'passes':>7} {'fp32 share':>10}")
    for name, runs, seconds, ok, share in rows:
        print(f"{name:<20} {runs:>10} {seconds:>8.1f} {str(ok):>7} {share:>10.1%}")


if __name__ == "__main__":
    main()
