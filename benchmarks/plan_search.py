"""The keep-fp32 plan search against a naive one, on a model with two separate float16 culprits.

The model is all-MiniLM-L6-v2 with the feed-forward weights of layers 1 and 4 scaled until
float16 overflows there (tests/builders/shape_models.py builds it). precheck's search keeps the first
culprit, reruns, adds the next one, then lets children of kept blocks run low again; the naive
search tries every layer and layer part alone in float32. Both count probe runs (one run = the
whole probe set encoded once) and seconds, and the table says what each found. Run from the
repository root:

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/plan_search.py
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "builders"))

TEXTS = [
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "東京は日本の首都です。",
    "def add(a, b): return a + b",
    "3.14159 2.71828 65504",
    "How do I reset my password?",
    "the the the the the the the the",
]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    import shape_models

    from precheck.diagnosis.diagnose import diagnose_failures
    from precheck.repair.keep_search import PlanProbe, search_keep_fp32
    from precheck.diagnosis.localise import block_paths
    from precheck.data.plan import Plan
    from precheck.engine.scanner import ScanOptions, start_session
    from precheck.tensors import torch_module

    work = Path(tempfile.mkdtemp(prefix="precheck-plan-search-"))
    model = shape_models.build_two_overflow_model(work / "two-overflow")
    texts = work / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    session, _ = start_session(ScanOptions(model=str(model), dtypes=("float16",), texts_file=texts, device="cpu"))
    diagnoses, _ = diagnose_failures(session, [session.run("float16", "load")])
    culprit = next(d for d in diagnoses if d.module)

    probe = PlanProbe(session, "float16")
    start = time.perf_counter()
    found = search_keep_fp32(probe, culprit)
    ours = ("culprit by culprit", probe.runs, time.perf_counter() - start,
            ", ".join(found.plan.keep_fp32) if found.plan else f"none: {found.why}",
            f"{found.share:.1%}" if found.plan else "-")

    net = torch_module(session.load(None))
    blocks = [path for path, kind in block_paths(net).items() if kind in ("layer", "part")]
    del net
    naive = PlanProbe(session, "float16")
    start = time.perf_counter()
    passing = [b for b in blocks if naive.verify(Plan("float16", "keep-fp32", [b])).status == "ok"]
    theirs = (f"each of {len(blocks)} blocks alone", naive.runs, time.perf_counter() - start,
              ", ".join(passing) if passing else "none (no single block passes)", "-")

    rows = [("search", "probe runs", "seconds", "plan found", "fp32 share")]
    rows += [(r[0], str(r[1]), f"{r[2]:.1f}", r[3], r[4]) for r in (ours, theirs)]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    print(f"two-overflow model (layers {', '.join(map(str, shape_models.OVERFLOW_LAYERS))}), "
          f"{len(session.items)} probe texts, float16 on {session.device}")
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


if __name__ == "__main__":
    main()
