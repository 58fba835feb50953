"""precheck scan against a bare sentence-transformers script doing the same loads and encodes.

Prints a table of medians over several runs, the ratio (target: at most 1.3x), the time of
`precheck --help` (target: under 0.5 s) and peak memory next to one float32 model.
Run: .venv/bin/python benchmarks/scan_overhead.py [--runs 3] [--texts FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# The same work as precheck scan: a float32 reference, then for each dtype a load with
# torch_dtype and a float32 load cast with .to(dtype), each encoded and freed in turn.
BARE_SCRIPT = r"""
import gc, sys, torch
from sentence_transformers import SentenceTransformer
from precheck.loading import resolve_model
from precheck.kinds.texts import builtin_texts, read_texts
from pathlib import Path
path = resolve_model(sys.argv[1]).path
def encode(model):
    return model.encode(texts, batch_size=32, show_progress_bar=False)
model = SentenceTransformer(path, device="cpu", model_kwargs={"torch_dtype": torch.float32})
texts = read_texts(Path(sys.argv[2])) if len(sys.argv) > 2 else builtin_texts(model.max_seq_length)
reference = encode(model)
del model; gc.collect()
for dtype in (torch.float16, torch.bfloat16):
    model = SentenceTransformer(path, device="cpu", model_kwargs={"torch_dtype": dtype})
    encode(model); del model; gc.collect()
    model = SentenceTransformer(path, device="cpu", model_kwargs={"torch_dtype": torch.float32}).to(dtype)
    encode(model); del model; gc.collect()
"""

ONE_MODEL_SCRIPT = r"""
import sys, torch
from sentence_transformers import SentenceTransformer
from precheck.loading import resolve_model
from precheck.kinds.texts import builtin_texts, read_texts
from pathlib import Path
model = SentenceTransformer(resolve_model(sys.argv[1]).path, device="cpu")
texts = read_texts(Path(sys.argv[2])) if len(sys.argv) > 2 else builtin_texts(model.max_seq_length)
model.encode(texts, batch_size=32, show_progress_bar=False)
"""

# Runs a command and prints its peak resident memory (the child's maxrss, in KiB).
MEASURE = r"""
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(command: list[str]) -> tuple[float, float, int]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    code, kib = out.stdout.split()
    return seconds, int(kib) / 1024, int(code)


def median_of(command: list[str], runs: int) -> tuple[float, float, int]:
    samples = [measure(command) for _ in range(runs)]
    return (
        statistics.median(s[0] for s in samples),
        max(s[1] for s in samples),
        samples[-1][2],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--texts", type=Path, help="probe texts file (default: precheck's built-in set)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="precheck-bench-"))
    texts = [str(args.texts)] if args.texts else []
    try:
        scan = [str(BIN / "precheck"), "scan", MODEL, "--device", "cpu", "-q", "--json", str(work / "r.json"), "--force"]
        if args.texts:
            scan += ["--texts", str(args.texts)]
        rows = {
            "precheck --help": median_of([str(BIN / "precheck"), "--help"], max(args.runs, 5)),
            "bare script (same loads + encodes)": median_of([sys.executable, "-c", BARE_SCRIPT, MODEL, *texts], args.runs),
            "precheck scan": median_of(scan, args.runs),
            "one float32 model + encode": median_of([sys.executable, "-c", ONE_MODEL_SCRIPT, MODEL, *texts], 1),
        }
        report = json.loads((work / "r.json").read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    env = report["environment"]
    print(f"all-MiniLM-L6-v2, {report['settings']['probe_items']} probe texts, {args.runs} runs, "
          f"torch {env['torch']}, sentence-transformers {env['sentence_transformers']}, device {env['device']}")
    print(f"| {'command':<36} | {'median s':>9} | {'peak MiB':>9} |")
    print(f"|{'-' * 38}|{'-' * 11}|{'-' * 11}|")
    for name, (seconds, mib, _) in rows.items():
        print(f"| {name:<36} | {seconds:>9.2f} | {mib:>9.0f} |")
    bare, scan_row = rows["bare script (same loads + encodes)"], rows["precheck scan"]
    print(f"\nscan / bare script: {scan_row[0] / bare[0]:.2f}x (target <= 1.3x)")
    print(f"precheck --help: {rows['precheck --help'][0]:.2f} s (target < 0.5 s)")
    print(f"scan peak / one-model peak: {scan_row[1] / rows['one float32 model + encode'][1]:.2f}x")


if __name__ == "__main__":
    main()
