"""train-check's report as data (`precheck.train/1`): each precision mode's run against float32,
the judgement and the recommendation (training/ runs them, render/training.py draws them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .report import Environment, ErrorInfo, ModelInfo

TRAIN_SCHEMA = "precheck.train/1"
MODES = ("half", "amp", "bf16", "bf16-amp")


@dataclass
class NonFinite:
    step: int  # 1-based
    what: str  # loss, gradient or parameter
    parameter: str | None = None


@dataclass
class ModeResult:
    mode: str  # float32, half, amp, bf16
    weights_dtype: str
    compute_dtype: str
    losses: list[float | None] = field(default_factory=list)
    first_nonfinite: NonFinite | None = None
    predictions_finite: bool | None = None
    max_abs_diff_vs_float32: float | None = None
    spearman_vs_float32: float | None = None
    seconds_per_step: float | None = None
    memory_bytes: int | None = None
    memory_source: str = ""
    skipped_steps: int = 0  # amp: steps the GradScaler skipped for inf gradients (expected early on)
    error: ErrorInfo | None = None
    # Judged against float32 (judge.py): reference, ok, diverges, nonfinite, error or unsupported.
    status: str = ""
    start_loss: float | None = None  # mean loss over the first fifth of the steps
    final_loss: float | None = None  # mean loss over the last fifth
    loss_ratio_vs_float32: float | None = None  # final_loss / float32's final_loss
    loss_drop_share: float | None = None  # (start - final) / float32's (start - final)
    shortfall: str = ""  # diverges: which figures fell short, in words

    @property
    def trains_finite(self) -> bool:
        return self.error is None and self.first_nonfinite is None and bool(self.predictions_finite)


@dataclass
class Recommendation:
    mode: str | None
    reason: str
    trainer_snippet: str
    torch_snippet: str


@dataclass
class TrainVerdict:
    mode: str
    passed: bool
    summary: str


@dataclass
class TrainReport:
    model: ModelInfo
    environment: Environment
    settings: dict
    modes: list[ModeResult]
    recommendation: Recommendation
    verdict: TrainVerdict
    schema: str = TRAIN_SCHEMA

    def mode(self, name: str) -> ModeResult:
        return next(m for m in self.modes if m.mode == name)

    def to_dict(self) -> dict:
        from .json import dataclass_document

        data = dataclass_document(self)
        for mode, result in zip(data["modes"], self.modes):
            mode["trains_finite"] = result.trains_finite
        return data

    def to_json(self) -> str:
        from .json import JSON

        return JSON.format(self)
