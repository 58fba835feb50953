"""The training pre-check: a short fine-tune in each precision mode, watched step by step.

half: weights loaded in the low dtype, plain AdamW (what users who load in float16 do);
amp: float32 weights, autocast to float16, a GradScaler; bf16: weights in bfloat16;
bf16-amp: float32 weights, autocast to bfloat16, no scaler (the trainer's bf16=True).
A float32 run on the same batches is the reference each mode's learning is judged against (judge.py).
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..kinds import Kind, cross_encoder_max_length
from ..data.report import error_info
from ..data.training import ModeResult, NonFinite

# train-check's default: the exit code says whether any low-precision mode trains as float32 does.
ANY_MODE = "any"
# The autocast dtype of the mixed-precision modes (float32 weights).
AUTOCAST = {"amp": "float16", "bf16-amp": "bfloat16"}


@dataclass(frozen=True)
class TrainOptions:
    model: str
    mode: str = "any"  # the mode the exit code is about; "any": some low-precision mode passes
    dtype: str = "float16"  # the low dtype of `half` (amp always autocasts to float16)
    steps: int = 20
    lr: float = 2e-5
    batch_size: int = 8
    data_file: Path | None = None
    device: str = "auto"
    trust_remote_code: bool = False
    kind: str = "auto"
    seed: int = 0
    # Learning as float32 does (judge.py): final loss at most this many times float32's,
    max_loss_ratio: float = 1.25
    # a fall from its own start at least this share of float32's fall,
    min_loss_drop: float = 0.5
    # and predictions after training ranked as float32's are (Spearman).
    min_spearman: float = 0.9
    load: object = None  # LoadOptions (precheck/options.py): revision, model/config/tokenizer kwargs, ...


def _batches(data, batch_size: int, steps: int):
    for step in range(steps):
        start = (step * batch_size) % len(data)
        batch = [data[(start + i) % len(data)] for i in range(min(batch_size, len(data)))]
        yield step + 1, batch


class _Task:
    """What one training step computes, as the kind trains (Kind.trains_by): logits + BCE for
    "scores" (a cross-encoder), cosine similarity + MSE (CosineSimilarityLoss) for "embeddings"."""

    def __init__(self, wrapper, kind: Kind, device: str) -> None:
        from ..kinds import torch_module

        self.wrapper, self.device = wrapper, device
        self.scores = kind.trains_by == "scores"
        self.net = wrapper.model if self.scores else torch_module(wrapper)

    def _features(self, texts):
        tokenize = getattr(self.wrapper, "preprocess", None) or self.wrapper.tokenize
        features = tokenize(texts)
        return {k: v.to(self.device) if hasattr(v, "to") else v for k, v in features.items()}

    def loss(self, batch):
        import torch
        import torch.nn.functional as F

        queries, passages = [b[0] for b in batch], [b[1] for b in batch]
        labels = torch.tensor([b[2] for b in batch], device=self.device)
        if self.scores:
            features = self.wrapper.tokenizer(queries, passages, padding=True, truncation=True,
                                              max_length=cross_encoder_max_length(self.wrapper),
                                              return_tensors="pt").to(self.device)
            logits = self.net(**features).logits.view(-1)
            return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        a = self.net(self._features(queries))["sentence_embedding"]
        b = self.net(self._features(passages))["sentence_embedding"]
        similarity = F.cosine_similarity(a, b)
        return F.mse_loss(similarity, labels.to(similarity.dtype))

    def predict(self, pairs):
        import numpy as np
        import torch

        self.net.eval()
        with torch.no_grad():
            if self.scores:
                out = self.wrapper.predict(pairs, show_progress_bar=False)
            else:
                a = self.wrapper.encode([p[0] for p in pairs], convert_to_tensor=True, show_progress_bar=False)
                b = self.wrapper.encode([p[1] for p in pairs], convert_to_tensor=True, show_progress_bar=False)
                out = torch.nn.functional.cosine_similarity(a.float(), b.float()).cpu().numpy()
        return torch.from_numpy(np.asarray(out, dtype=np.float32)).reshape(len(pairs), -1)


def _first_nonfinite(named, attribute: str):
    import torch

    for name, parameter in named:
        value = parameter.grad if attribute == "grad" else parameter
        if value is not None and not bool(torch.isfinite(value).all()):
            return name
    return None


def _state_bytes(net, optimizer) -> int:
    total = 0
    for p in net.parameters():
        total += p.numel() * p.element_size()
        if p.grad is not None:
            total += p.grad.numel() * p.grad.element_size()
    for state in optimizer.state.values():
        total += sum(v.numel() * v.element_size() for v in state.values() if hasattr(v, "numel"))
    return total


MODE_DTYPES = {"float32": ("float32", "float32"), "amp": ("float32", "float16"), "bf16": ("bfloat16", "bfloat16"),
               "bf16-amp": ("float32", "bfloat16")}


def train_one_mode(load: Callable[[str], object], kind: Kind, mode: str, low: str, data, probe_pairs,
                   options: TrainOptions, device: str, reference=None):
    """(ModeResult, predictions on the probe pairs after training or None)."""
    import torch

    weights, compute = (low, low) if mode == "half" else MODE_DTYPES[mode]
    result = ModeResult(mode, weights, compute)
    torch.manual_seed(options.seed)
    task = _Task(load(weights), kind, device)
    net = task.net
    net.train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=options.lr)
    scaler = torch.amp.GradScaler(device) if mode == "amp" else None
    # bfloat16 has float32's range, so bf16-amp needs no loss scaling (nor does the trainer's bf16=True).
    autocast = (lambda: torch.autocast(device_type=device, dtype=getattr(torch, AUTOCAST[mode]))) \
        if mode in AUTOCAST else nullcontext
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    named = list(net.named_parameters())
    start = time.perf_counter()
    steps_done = 0
    try:
        for step, batch in _batches(data, options.batch_size, options.steps):
            with autocast():
                loss = task.loss(batch)
            steps_done = step
            value = float(loss.detach().float())
            result.losses.append(value)
            if not torch.isfinite(loss.detach()).all():
                result.first_nonfinite = NonFinite(step, "loss")
                break
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scale = scaler.get_scale()
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                result.skipped_steps += int(scaler.get_scale() < scale)
            else:
                loss.backward()
                bad = _first_nonfinite(named, "grad")
                if bad is not None:
                    result.first_nonfinite = NonFinite(step, "gradient", bad)
                    break
                optimizer.step()
            bad = _first_nonfinite(named, "value")
            if bad is not None:
                result.first_nonfinite = NonFinite(step, "parameter", bad)
                break
    except Exception as exc:  # noqa: BLE001 - a mode the device cannot train is a result
        result.error = error_info(exc)
        return result, None
    result.seconds_per_step = (time.perf_counter() - start) / max(steps_done, 1)
    if device == "cuda":
        result.memory_bytes, result.memory_source = int(torch.cuda.max_memory_allocated()), "cuda peak allocated"
    else:
        result.memory_bytes = _state_bytes(net, optimizer)
        result.memory_source = "parameters + gradients + optimizer state"
    predictions = task.predict(probe_pairs)
    result.predictions_finite = bool(torch.isfinite(predictions).all())
    if reference is not None and result.predictions_finite:
        from ..compare.dense import spearman

        result.max_abs_diff_vs_float32 = float((predictions - reference).abs().max())
        result.spearman_vs_float32 = spearman(reference[:, 0].tolist(), predictions[:, 0].tolist())
    return result, predictions
