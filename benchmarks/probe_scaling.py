"""How `precheck scan`'s time and memory grow with the probe set: 35, 1k, 10k and 100k texts.

all-MiniLM-L6-v2, one dtype (bfloat16, the fastest half precision on a CPU), no fix search; the
texts are short generated sentences, all different, written to a --texts file. Each scan runs in
its own process: wall time, exit code and peak resident memory (the child's ru_maxrss), then the
cost per text, which stays flat when the cost grows linearly (issue 26).
    .venv/bin/python benchmarks/probe_scaling.py --sizes 35,1000,10000
    .venv/bin/python benchmarks/probe_scaling.py --sizes 100000 --dtype bf16
"""
from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent
MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# Runs a command and prints its wall time, exit code and peak resident memory (the child's maxrss,
# KiB): timed in here, so this wrapper's own start-up is not counted.
MEASURE = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(time.perf_counter() - start, code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

SUBJECTS = ("the river", "a small team", "our database", "the old library", "this model", "a quiet street",
            "the night train", "every student", "the storage index", "a tired engineer", "the museum",
            "her garden", "the weather service", "a new compiler", "the harbour", "his violin")
VERBS = ("slowly changes", "quietly explains", "rarely affects", "often supports", "suddenly moves past",
         "carefully measures", "never forgets", "barely reaches", "happily follows", "openly questions")
OBJECTS = ("the morning light", "a forgotten promise", "the quarterly report", "half precision",
           "the mountain road", "a long queue", "the last chapter", "every search result", "the winter market",
           "a broken clock", "the test suite", "the city council", "a cup of tea", "the nearest neighbour")
ENDINGS = ("before noon.", "after the storm.", "in the archive.", "for no clear reason.", "on most days.",
           "without a sound.", "near the border.", "during the meeting.", "as expected.", "at scale.")


def texts(count: int) -> list[str]:
    """`count` different short sentences, the same ones on every call."""
    made = (f"{s.capitalize()} {v} {o} {e}" for s, v, o, e in itertools.product(SUBJECTS, VERBS, OBJECTS, ENDINGS))
    out = list(itertools.islice(made, count))
    for round_ in itertools.count(2):
        if len(out) >= count:
            return out[:count]
        out += [f"{text[:-1]}, round {round_}." for text in out[: count - len(out)]]


def measure(command: list[str]) -> tuple[float, int, float]:
    """(seconds, exit code, peak MiB) of one command in its own process."""
    run = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    seconds, code, kib = run.stdout.split()
    return float(seconds), int(code), int(kib) / 1024


def scan(size: int, dtype: str, folder: Path) -> dict:
    probe = folder / f"texts-{size}.txt"
    probe.write_text("\n".join(texts(size)) + "\n", encoding="utf-8")
    report = folder / f"report-{size}.json"
    seconds, code, mib = measure([str(BIN / "precheck"), "scan", MODEL, "-d", dtype, "--device", "cpu",
                                  "--texts", str(probe), "--no-fix", "-q", "--json", str(report)])
    verdict = json.loads(report.read_text(encoding="utf-8"))["verdict"]["passed"] if report.exists() else None
    return {"texts": size, "seconds": seconds, "exit": code, "peak_mib": mib, "passed": verdict}


def table(rows: list[dict]) -> str:
    """Per text beyond the smallest set: the load and start-up every scan pays once are left out,
    so a flat column is a linear cost."""
    first = rows[0]
    lines = ["|   texts | exit | seconds | peak MiB | ms / added text | KiB / added text |",
             "|---------|------|---------|----------|-----------------|------------------|"]
    for row in rows:
        added = row["texts"] - first["texts"]
        per_ms = f"{1000 * (row['seconds'] - first['seconds']) / added:.2f}" if added else "-"
        per_kib = f"{1024 * (row['peak_mib'] - first['peak_mib']) / added:.1f}" if added else "-"
        lines.append(f"| {row['texts']:>7,} | {row['exit']:>4} | {row['seconds']:>7.1f} | {row['peak_mib']:>8.0f} "
                     f"| {per_ms:>15} | {per_kib:>16} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="35,1000,10000,100000", help="comma-separated numbers of texts")
    parser.add_argument("--dtype", default="bf16", help="the one dtype scanned (precheck's -d)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            rows.append(scan(size, args.dtype, Path(folder)))
            print(f"{size} texts: {rows[-1]['seconds']:.1f} s, {rows[-1]['peak_mib']:.0f} MiB, exit {rows[-1]['exit']}",
                  file=sys.stderr, flush=True)
    print(f"{MODEL}, -d {args.dtype}, --no-fix")
    print(table(rows))


if __name__ == "__main__":
    main()
