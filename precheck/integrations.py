"""precheck inside a training run: `PrecheckCallback`, a transformers TrainerCallback for the
sentence-transformers trainers, scans the model being trained (as an object) at the checks the user picks.

Each check logs its figures through the trainer's own `log` (console, TensorBoard, W&B), writes the report
into the checkpoint folder, and with `stop_on_fail` stops the run when a dtype that passed starts failing.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

try:
    from transformers import TrainerCallback
except ImportError:  # precheck works without transformers' Trainer; the callback does not
    TrainerCallback = object

REPORT_FILE = "precheck-report.json"  # not precheck.json: that name is a fix plan (repair/apply.py)
WHEN = ("save", "steps", "evaluate")
# Items per check on the defaults: a spread of the built-in set, its longest items kept (overflow grows with length).
DEFAULT_MAX_ITEMS = 16
# Past this share of the time since the previous check, a check says it costs too much, and how to cut it.
COST_SHARE = 0.1


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


def _spread(items: list, count: int) -> list:
    """`count` items evenly spread over `items`, first and last included (the built-in sets end with their longest)."""
    if len(items) <= count:
        return list(items)
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
        from .options import api_options

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
        self.given = texts if texts is not None else pairs
        self.stop_on_fail, self.report_file = stop_on_fail, report_file
        self.echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.checks: list[Check] = []
        self.passed_once: set[str] = set()
        self.stopped: str | None = None  # the message of the stop, when stop_on_fail stopped the run
        self._trainer = None
        self._last = None  # when the previous check (or the run) began

    # --- the events a check runs at

    def on_train_begin(self, args, state, control, **kwargs):
        self._trainer = self._trainer or _find_trainer()
        self._last = time.perf_counter()

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
        from .kinds import kind_for
        from .loading.load import resolve_object

        items = self.given if self.given is not None else kind_for(resolve_object(model).kind).default_items(model)
        return _spread(list(items), self.max_items)

    def check(self, args, state, control, model) -> Check:
        from .engine.scanner import run_scan
        from .options import api_options

        began = time.perf_counter()
        interval = began - self._last if self._last is not None else None
        report = run_scan(api_options(model, **self.scan_options), items=self._items(model))
        seconds = time.perf_counter() - began
        self._last = time.perf_counter()
        check = Check(state.global_step, {v.dtype: v.passed for v in report.verdict.dtypes}, figures(report),
                      round(seconds, 3), report=report)
        check.figures["precheck/seconds"] = check.seconds
        check.report_path = self._write(args, state, report)
        self._log(state, check.figures)
        for verdict in report.verdict.dtypes:
            if verdict.passed:
                self.passed_once.add(verdict.dtype)
            elif verdict.dtype in self.passed_once:
                check.newly_failing.append(stopped_line(report, verdict, state.global_step))
        self.checks.append(check)
        cost = f"{seconds:.2f} s" + (f", {seconds / interval:.0%} of the {interval:.1f} s since the last check"
                                     if interval else "")
        self.echo(f"precheck step {state.global_step}: " + "; ".join(
            f"{d} {'ok' if ok else 'FAIL'}" for d, ok in check.passed.items()) + f" ({cost})")
        if interval and seconds > COST_SHARE * interval:
            self.echo(f"precheck: a check costs over {COST_SHARE:.0%} of the interval between checks: pass "
                      "max_items= fewer, or check less often (when='save' with a larger save_steps, every=N)")
        if check.newly_failing:
            for line in check.newly_failing:
                self.echo(line)
            if self.stop_on_fail:
                self.stopped = check.newly_failing[0]
                control.should_training_stop = True
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

    def _log(self, state, figures: dict[str, float]) -> None:
        if self._trainer is not None:
            self._trainer.log(dict(figures))
        else:  # a Trainer not found on the stack: the history still gets them
            state.log_history.append({**figures, "step": state.global_step})


def figures(report) -> dict[str, float]:
    """The headline figures of each dtype's `load` run, by log name: precheck/<dtype>/<figure>."""
    logged: dict[str, float] = {}
    for verdict in report.verdict.dtypes:
        result = report.result(verdict.dtype, "load")
        prefix = f"precheck/{verdict.dtype}"
        logged[f"{prefix}/passed"] = 1.0 if verdict.passed else 0.0
        logged[f"{prefix}/nonfinite"] = float(result.nonfinite) if result is not None else 0.0
        for name in ("min_cosine", "spearman", "topk_overlap"):
            value = getattr(result, name, None) if result is not None else None
            if value is not None:
                logged[f"{prefix}/{name}"] = float(value)
    return logged


def stopped_line(report, verdict, step: int) -> str:
    """`dtype` passed at an earlier check and fails at `step`: where and why, in one line."""
    diagnosis = next((d for d in report.diagnoses if d.dtype == verdict.dtype and d.module), None)
    where = f": {diagnosis.cause} in {diagnosis.module}" if diagnosis is not None else ""
    return f"precheck: {verdict.dtype} passed before and fails at step {step}{where} ({verdict.summary})"
