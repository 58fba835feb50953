"""precheck inside a training run: `PrecheckCallback`, a transformers TrainerCallback for the
sentence-transformers trainers, scans the model being trained (as an object) at the checks the user picks.

Each check logs its figures through the trainer's own `log` (console, TensorBoard, W&B), writes the report
into the checkpoint folder, and with `stop_on_fail` stops the run when a dtype that passed starts failing.
"""
from __future__ import annotations

import gc
import math
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

try:
    from transformers import TrainerCallback
except ImportError:  # precheck works without transformers' Trainer; the callback does not
    TrainerCallback = object

REPORT_FILE = "precheck-report.json"  # not precheck.json: that name is a fix plan (workflow/fix.py)
WHEN = ("save", "steps", "evaluate")
# Items per check on the defaults: a spread of the built-in set, its longest items kept (overflow grows with length).
DEFAULT_MAX_ITEMS = 16
# A check's cost on a CPU of 2 threads, per million parameters: a fixed part (copies, weight sums, memory
# released) and a part per probe item for float32 and each half dtype, a half dtype's encode costing 3 float32
# ones on a CPU (benchmarks/callback_cost.py on all-MiniLM-L6-v2, docs/benchmarks.md): the estimate said
# when training starts, before any check has run.
CPU_FIXED_PER_MILLION = 0.053
CPU_ITEM_PER_MILLION = 0.0094
CPU_HALF_FACTOR = 3.0
CPU_THREADS = 2
HEADLINE = ("min_cosine", "spearman", "topk_overlap")  # each kind's headline figure, logged per dtype
# Past this share of the time since the previous check, a check says it costs too much, and how to cut it:
# the goal for the defaults (issue 32), met at the trainer's default save_steps (docs/training.md).
COST_SHARE = 0.05


@dataclass
class Check:
    """One check of the run: its step, each dtype's pass or fail, the figures logged, where the report went."""

    step: int
    passed: dict[str, bool]
    figures: dict[str, float]
    seconds: float
    report_path: str | None = None
    newly_failing: list[str] = field(default_factory=list)  # the verdict lines of dtypes that passed before
    report: object = None
    error: str | None = None  # a check that could not run: its one line (training went on)
    share: float | None = None  # its seconds over the time since the previous check (or the run's start)


def _spread(items: list, count: int) -> list:
    """`count` items evenly spread over `items`, first and last included (the built-in sets end with their longest)."""
    if len(items) <= count:
        return list(items)
    if count == 1:
        return [items[-1]]
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def _find_trainer():
    """The Trainer running this callback. A callback is handed the model, not the trainer, and the figures
    must go through `trainer.log` so that every reporting integration sees them: the trainer is found
    once, as `self` of a frame calling this callback."""
    from transformers import Trainer

    frame = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, Trainer):
            return candidate
        frame = frame.f_back
    return None


class PrecheckCallback(TrainerCallback):
    """Scan the model being trained in the dtypes it will be served in.

    dtypes: "fp16", "bf16" or both. when: "save" (each checkpoint, the default), "steps" (every `every` steps)
    or "evaluate" (after each evaluation). texts / pairs: the probe items (default: DEFAULT_MAX_ITEMS of the
    built-in set); max_items caps them. stop_on_fail: stop training when a dtype that passed starts failing.
    Other keywords go to the scan as for precheck.scan (min_cosine, min_spearman, batch_size, fix, ...;
    fix=False by default: the diagnosis names the module, the fix search is left to precheck.fix)."""

    def __init__(self, dtypes=("fp16",), when: str = "save", every: int | None = None, texts: list | None = None,
                 pairs: list | None = None, max_items: int = DEFAULT_MAX_ITEMS, stop_on_fail: bool = False,
                 report_file: str = REPORT_FILE, echo: Callable[[str], None] | None = None, **scan_options):
        from .errors import PrecheckError
        from .resolve import api_options

        if TrainerCallback is object:
            raise PrecheckError("PrecheckCallback needs transformers' Trainer, which is not installed",
                                "pip install transformers accelerate datasets")
        if when not in WHEN:
            raise PrecheckError(f"when={when!r}: a check runs at each save, every N steps or at each evaluation",
                                f"use one of {', '.join(WHEN)}")
        if (when == "steps") != (every is not None):
            raise PrecheckError("every=N goes with when='steps', and when='steps' needs every=N",
                                "pass when='steps', every=50 (or leave both out to check at each save)")
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise PrecheckError(f"every={every!r} should be a whole number of steps, 1 or more", "pass every=50")
        import torch

        scan_options.setdefault("fix", False)
        # The options' one door, now, with a stand-in object: a bad option, or one only a name can take,
        # fails when the callback is made, not hundreds of steps into the run.
        self.options = api_options(torch.nn.Module(), dtypes=dtypes, **scan_options)
        self.scan_options = {**scan_options, "dtypes": self.options.dtypes}
        self.when, self.every, self.max_items = when, every, max_items
        if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1:
            raise PrecheckError(f"max_items={max_items!r} should be a whole number of probe items, 1 or more",
                                f"pass max_items={DEFAULT_MAX_ITEMS} (the default) or fewer for a cheaper check")
        self.given, self.given_as = given_items(texts, pairs)
        self.stop_on_fail, self.report_file = stop_on_fail, report_file
        self.echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.checks: list[Check] = []
        self.passed_once: set[str] = set()
        self.stopped: str | None = None  # the message of the stop, when stop_on_fail stopped the run
        self._trainer = None
        self._last = None  # when the previous check (or the run) began

    # --- the events a check runs at

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._trainer = self._trainer or _find_trainer()
        self._last = time.perf_counter()
        try:
            self.echo(self.start_line(args, state, model))
        except Exception as exc:  # noqa: BLE001 - a line that cannot be said does not stop the run
            self.echo(f"precheck: {error_line(exc)}")

    def start_line(self, args, state, model) -> str:
        """When the checks run and what one costs: measured, once a check has run; else an estimate."""
        dtypes = " and ".join(self.options.dtypes)
        when = interval_words(self.when, self.every, args, state)
        if when is None:
            return (f"precheck: checks {dtypes} at each save, and this run saves no checkpoint (save_strategy "
                    "'no'): no check will run (pass when='steps', every=N)")
        done = [c for c in self.checks if c.error is None]
        if done:
            last = done[-1]
            cost = f"the last check took {last.seconds:.1f} s" + (
                f", {last.share:.0%} of the time since the check before" if last.share is not None else "")
        else:
            cost = estimate_words(model, len(self.options.dtypes), self._item_count(model))
        return f"precheck: checks {dtypes} {when} on {self._item_count(model)} probe items; {cost}"

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.when == "steps" and state.global_step % self.every == 0:
            self.check(args, state, control, model)

    def on_save(self, args, state, control, model=None, **kwargs):
        if self.when == "save":
            self.check(args, state, control, model)

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        if self.when == "evaluate":
            self.check(args, state, control, model)

    # --- one check

    def _items(self, model) -> list:
        """The probe items of this check: the ones given, if the model's kind takes them, else the built-in set."""
        from .errors import PrecheckError
        from .kinds import kind_for
        from .loading.resolve import resolve_object

        resolved = resolve_object(model)
        takes = kind_for(resolved.kind).probe_option
        if self.given is None:
            return _spread(list(kind_for(resolved.kind).default_items(model)), self.max_items)
        if self.given_as != takes:
            raise PrecheckError(f"{self.given_as}= given for {resolved.name}, a {resolved.kind}, which takes {takes}=",
                                f"pass {takes}=[...] (or leave both out for the built-in set)")
        return _spread(self.given, self.max_items)

    def _item_count(self, model) -> int:
        """How many items a check runs: the ones given, or the built-in set's, at most max_items."""
        try:
            return len(self._items(model))
        except Exception:  # noqa: BLE001 - the first check says what is wrong with them
            return self.max_items

    def check(self, args, state, control, model) -> Check:
        """One check. Whatever goes wrong in it (a model the scan cannot take, an option it refuses, an
        internal error) is logged, said on stderr with the step, and training goes on: precheck never ends
        the user's run for its own reasons. Only stop_on_fail, on a dtype that passed and now fails, stops it."""
        began = time.perf_counter()
        interval = began - self._last if self._last is not None else None
        try:
            check = self._scan(args, state, control, model, began, interval)
        except Exception as exc:  # noqa: BLE001 - KeyboardInterrupt and SystemExit still end the run
            check = self._failed(state, exc, began)
        if check.error is not None:  # the failed scan's copies, held by its traceback's frames, go now
            gc.collect()
        self._last = time.perf_counter()
        self.checks.append(check)
        return check

    def _scan(self, args, state, control, model, began: float, interval: float | None) -> Check:
        from .engine.scanner import run_scan
        from .resolve import api_options

        report = run_scan(api_options(model, **self.scan_options), items=self._items(model))
        seconds = time.perf_counter() - began
        check = Check(state.global_step, {v.dtype: v.passed for v in report.verdict.dtypes}, figures(report),
                      round(seconds, 3), report=report, share=seconds / interval if interval else None)
        check.figures["precheck/seconds"] = float(check.seconds)
        check.report_path = self._write(args, state, report)
        self._log(state, check.figures)
        for verdict in report.verdict.dtypes:
            if verdict.passed:
                self.passed_once.add(verdict.dtype)
            elif verdict.dtype in self.passed_once:
                check.newly_failing.append(stopped_line(report, verdict, state.global_step))
        self.echo(f"precheck step {state.global_step}: {verdict_words(check)} ({cost_words(seconds, interval)})")
        if interval and seconds > COST_SHARE * interval:
            self.echo(f"precheck: a check costs over {COST_SHARE:.0%} of the interval between checks: pass "
                      "max_items= fewer, or check less often (a larger save_steps, or when='steps', every=N)")
        for line in check.newly_failing:
            self.echo(line)
        if check.newly_failing and self.stop_on_fail:
            self.stopped = check.newly_failing[0]
            control.should_training_stop = True
        return check

    def _failed(self, state, exc: Exception, began: float) -> Check:
        """A check that could not run: its one line in the trainer's log history (`precheck/error` 1.0 through
        the trainer's log, the line beside it as `precheck/error_message`) and on stderr; no stop."""
        seconds = round(time.perf_counter() - began, 3)
        line = error_line(exc)
        check = Check(state.global_step, {}, {"precheck/error": 1.0, "precheck/seconds": float(seconds)}, seconds,
                      error=line)
        self.echo(f"precheck step {state.global_step}: the check could not run, training goes on: {line}")
        self._log(state, check.figures, message=line)
        return check

    def _write(self, args, state, report) -> str | None:
        """The report, in the checkpoint folder of this step when there is one (else output_dir/precheck/)."""
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

        output = Path(args.output_dir)
        folder = output / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if not folder.is_dir():
            folder = output / "precheck" / f"step-{state.global_step}"
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.report_file
        path.write_text(report.to_json() + "\n", encoding="utf-8")
        return str(path)

    def _log(self, state, figures: dict[str, float], message: str | None = None) -> None:
        """Figures (floats only: every reporting integration takes them) through the trainer's log; a message
        goes beside them into the log history only (trainer_state.json), where no integration drops it."""
        if self._trainer is not None:
            self._trainer.log(dict(figures))
        else:  # a Trainer not found on the stack: the history still gets them
            state.log_history.append({**figures, "step": state.global_step})
        entry = state.log_history[-1] if state.log_history else {}
        if message is not None and all(entry.get(k) == v for k, v in figures.items()):
            entry["precheck/error_message"] = message


def figures(report) -> dict[str, float]:
    """The headline figures of each dtype's `load` run, by log name: precheck/<dtype>/<figure>."""
    logged: dict[str, float] = {}
    for verdict in report.verdict.dtypes:
        result = report.result(verdict.dtype, "load")
        prefix = f"precheck/{verdict.dtype}"
        logged[f"{prefix}/passed"] = 1.0 if verdict.passed else 0.0
        logged[f"{prefix}/nonfinite"] = float(result.nonfinite) if result is not None else 0.0
        for name in HEADLINE:
            value = getattr(result, name, None) if result is not None else None
            if value is not None:
                logged[f"{prefix}/{name}"] = float(value)
    return logged


def fits(item, pair: bool) -> bool:
    """A probe item given in code is a non-empty text, or a pair of them for a model that takes pairs."""
    if pair:
        return isinstance(item, (tuple, list)) and len(item) == 2 and all(fits(x, False) for x in item)
    return isinstance(item, str) and bool(item.strip())


def given_items(texts, pairs) -> tuple[list | None, str]:
    """The probe items given in code, checked when the callback is made: (items, "texts" or "pairs")."""
    from .errors import PrecheckError

    if texts is not None and pairs is not None:
        raise PrecheckError("texts= and pairs= both given: a model takes one of them",
                            "pass texts= for an embedder or a sparse encoder, pairs= for a cross-encoder")
    given, name = (texts, "texts") if texts is not None else (pairs, "pairs")
    if given is None:
        return None, name
    what = "a (query, passage) pair of non-empty texts" if name == "pairs" else "a non-empty text"
    if isinstance(given, (str, bytes)) or not hasattr(given, "__iter__"):
        raise PrecheckError(f"{name}= is a {type(given).__name__}, not a list of items", f"pass a list, each {what}")
    items = list(given)
    bad = next((i for i, item in enumerate(items) if not fits(item, name == "pairs")), None)
    if bad is not None or not items:
        raise PrecheckError(f"{name}= item {bad} is {items[bad]!r}, not {what}" if bad is not None
                            else f"{name}= is empty", f"give each item as {what}")
    return [tuple(item) if name == "pairs" else item for item in items], name


def interval_words(when: str, every: int | None, args, state) -> str | None:
    """When the checks run, in words, from the trainer's own arguments (None: a check at saves, and no save)."""
    if when == "steps":
        return f"every {every} steps"
    if when == "evaluate":
        return "after each evaluation"
    strategy = str(getattr(args.save_strategy, "value", args.save_strategy))
    if strategy == "no":
        return None
    if strategy != "steps":
        return f"at each save ({strategy})"
    steps = args.save_steps if args.save_steps >= 1 else math.ceil(state.max_steps * args.save_steps)
    return f"at each save (every {int(steps)} steps)"


def estimate_words(model, dtypes: int, items: int) -> str:
    """A check's cost, estimated from the model's parameters, before any check has run: on a CPU, scaled
    from all-MiniLM-L6-v2's measured checks (docs/benchmarks.md); on an accelerator, not estimated."""
    parameters = list(model.parameters()) if model is not None else []
    if not parameters:
        return "the first check says what it costs"
    millions = sum(p.numel() for p in parameters) / 1e6
    if parameters[0].device.type != "cpu":
        return f"{millions:.0f}M parameters on {parameters[0].device.type}: the first check says what it costs"
    import torch

    per_item = CPU_ITEM_PER_MILLION * (1 + dtypes * CPU_HALF_FACTOR) / (1 + CPU_HALF_FACTOR)
    seconds = millions * (CPU_FIXED_PER_MILLION + per_item * items) * CPU_THREADS / max(torch.get_num_threads(), 1)
    return (f"about {seconds:.0f} s a check on this CPU (an estimate for {millions:.0f}M parameters); "
            "the first check says what it took and its share of the interval")


def error_line(exc: Exception) -> str:
    """What went wrong in a check, in one line: a PrecheckError's message and hint; anything else is
    precheck's own failure, named by its type and, when it says nothing, by where it was raised."""
    from .errors import PrecheckError

    if isinstance(exc, PrecheckError):
        return exc.one_line()
    text = " ".join(str(exc).split())
    if not text:
        frames = traceback.extract_tb(exc.__traceback__)
        text = f"raised in {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "no message"
    return f"internal error: {type(exc).__name__}: {text} (please report it)"


def verdict_words(check: Check) -> str:
    """Each dtype's verdict and headline figure, to six digits (the trainer's console rounds to four)."""
    words = []
    for dtype, passed in check.passed.items():
        figure = next(((name, check.figures[f"precheck/{dtype}/{name}"]) for name in HEADLINE
                       if f"precheck/{dtype}/{name}" in check.figures), None)
        words.append(f"{dtype} {'ok' if passed else 'FAIL'}" + (f" {figure[0]} {figure[1]:.6f}" if figure else ""))
    return "; ".join(words)


def cost_words(seconds: float, interval: float | None) -> str:
    return f"{seconds:.2f} s" + (f", {seconds / interval:.0%} of the {interval:.1f} s since the last check"
                                 if interval else "")


def stopped_line(report, verdict, step: int) -> str:
    """`dtype` passed at an earlier check and fails at `step`: where and why, in one line."""
    diagnosis = next((d for d in report.diagnoses if d.dtype == verdict.dtype and d.module), None)
    where = f": {diagnosis.cause} in {diagnosis.module}" if diagnosis is not None else ""
    return f"precheck: {verdict.dtype} passed before and fails at step {step}{where} ({verdict.summary})"
