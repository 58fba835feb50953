"""Orchestrates `precheck train-check`: float32, then each mode, then a recommendation.

One model copy is resident at a time; each mode loads a fresh copy from disk, so the
user's files are never touched.
"""
from __future__ import annotations

from typing import Callable

from ..errors import PrecheckError
from ..kinds import KINDS, Kind, kind_for, torch_module
from ..loading.fingerprint import attention_implementations
from ..loading.load import (
    check_remote_code,
    load_model,
    quiet_libraries,
    release_memory,
    resolve_model,
)
from ..devices import device_supports, resolve_device
from ..data.report import ErrorInfo, ModelInfo
from .judge import judge, judge_reference
from .modes import ANY_MODE, AUTOCAST, TrainOptions, train_one_mode
from ..data.training import MODES, ModeResult, Recommendation, TrainReport, TrainVerdict

PROBE_PAIRS = 16


def _trainer_snippet(kind: Kind, mode: str) -> str:
    snippet = _amp_trainer_snippet(kind, {"amp": "fp16=True", "bf16-amp": "bf16=True"}.get(mode, "bf16=True"))
    if mode != "bf16":
        return snippet
    # Pure bfloat16 weights: loaded so, with no flag (bf16=True is bf16-amp, float32 master weights).
    return ("import torch\n" + snippet.replace(", bf16=True)  # float32 master weights", ")")
            .replace("num_labels=1)  # float32 weights: no torch_dtype",
                     'num_labels=1, model_kwargs={"torch_dtype": torch.bfloat16})  # bfloat16 weights')
            .replace("(name)  # float32 weights: no torch_dtype",
                     '(name, model_kwargs={"torch_dtype": torch.bfloat16})  # bfloat16 weights'))


def _amp_trainer_snippet(kind: Kind, flag: str) -> str:
    if kind.trains_by == "scores":
        try:
            from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments  # noqa: F401
        except ImportError:  # sentence-transformers 3.x: CrossEncoder.fit
            return (
                "from sentence_transformers import CrossEncoder\n\n"
                "model = CrossEncoder(name, num_labels=1)  # float32 weights: no torch_dtype\n"
                "model.fit(train_dataloader=loader, epochs=1, use_amp=True)  # autocast + GradScaler\n"
            )
        return (
            "from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, "
            "CrossEncoderTrainingArguments\n\n"
            "model = CrossEncoder(name, num_labels=1)  # float32 weights: no torch_dtype\n"
            f"args = CrossEncoderTrainingArguments(output_dir=\"out\", {flag})  # float32 master weights\n"
            "trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=train_dataset)\n"
            "trainer.train()\n"
        )
    return (
        "from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, "
        "SentenceTransformerTrainingArguments, losses\n\n"
        "model = SentenceTransformer(name)  # float32 weights: no torch_dtype\n"
        f"args = SentenceTransformerTrainingArguments(output_dir=\"out\", {flag})  # float32 master weights\n"
        "trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train_dataset,\n"
        "                                     loss=losses.CosineSimilarityLoss(model))\n"
        "trainer.train()\n"
    )


def _torch_snippet(kind: Kind, mode: str, device: str) -> str:
    scores = kind.trains_by == "scores"
    forward = ("logits = net(**features).logits.view(-1)\n"
               "        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), labels)\n"
               if scores else
               "loss = loss_fn(features, labels)  # e.g. losses.CosineSimilarityLoss(model)\n")
    net = "model.model" if scores else "model"  # the transformers model under a CrossEncoder gives the logits
    cls = kind.class_name
    if mode == "bf16-amp":
        return (
            f"import torch\nfrom sentence_transformers import {cls}\n\n"
            f"model = {cls}(name)  # float32 weights stay the master copy\n"
            f"net = {net}\n"
            "optimizer = torch.optim.AdamW(net.parameters(), lr=2e-5)\n"
            "for features, labels in batches:\n"
            f'    with torch.autocast("{device}", dtype=torch.bfloat16):  # float32\'s range: no scaler\n'
            f"        {forward}"
            "    optimizer.zero_grad()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
        )
    if mode == "amp":
        return (
            f"import torch\nfrom sentence_transformers import {cls}\n\n"
            f"model = {cls}(name)  # float32 weights stay the master copy\n"
            f"net = {net}\n"
            "optimizer = torch.optim.AdamW(net.parameters(), lr=2e-5)\n"
            f'scaler = torch.amp.GradScaler("{device}")\n'
            "for features, labels in batches:\n"
            f'    with torch.autocast("{device}", dtype=torch.float16):\n'
            f"        {forward}"
            "    optimizer.zero_grad()\n"
            "    scaler.scale(loss).backward()  # scaled so small gradients survive float16\n"
            "    scaler.step(optimizer)  # skips steps whose gradients overflowed\n"
            "    scaler.update()\n"
        )
    return (
        f"import torch\nfrom sentence_transformers import {cls}\n\n"
        f"model = {cls}(name, model_kwargs={{\"torch_dtype\": torch.bfloat16}})  # float32's range\n"
        f"net = {net}\n"
        "optimizer = torch.optim.AdamW(net.parameters(), lr=2e-5)\n"
        "for features, labels in batches:\n"
        f"    {forward.replace(chr(10) + '        ', chr(10) + '    ')}"
        "    optimizer.zero_grad()\n"
        "    loss.backward()\n"
        "    optimizer.step()\n"
    )


def _named(snippet: str, model_name: str) -> str:
    """The snippet with the model the user checked in place of the placeholder `name`."""
    for cls in ("CrossEncoder(", "SentenceTransformer("):
        snippet = snippet.replace(f"{cls}name", f"{cls}{model_name!r}")
    return snippet


def recommend(modes: list[ModeResult], kind_name: str, device: str, asked: str,
              model_name: str = "name") -> Recommendation:
    by_name = {m.mode: m for m in modes}
    if asked in by_name and by_name[asked].status == "ok" and asked != "half":
        choice = asked
    else:
        # amp and bf16-amp (the trainer's fp16=True and bf16=True) keep float32 master weights, so
        # small updates are not lost, which pure bfloat16 weights can do: they come first.
        choice = next((m for m in ("amp", "bf16-amp", "bf16") if by_name.get(m) and by_name[m].status == "ok"), None)
    if choice is None:
        return Recommendation(None, "no mode trained finite and learned as float32 does: train in float32", "", "")
    half = by_name.get("half")
    why = (f"half precision weights with a plain optimizer went non-finite at step {half.first_nonfinite.step}"
           if half is not None and half.first_nonfinite else "half precision weights lose small updates")
    diverging = [m.mode for m in modes if m.status == "diverges"]
    if diverging:
        why += f"; {', '.join(diverging)} stayed finite but learned less than float32"
    reason = f"{choice} trains finite and learns as float32 does; {why}"
    kind = kind_for(kind_name)
    return Recommendation(choice, reason, _named(_trainer_snippet(kind, choice), model_name),
                          _named(_torch_snippet(kind, choice, device), model_name))


def _verdict(result: ModeResult) -> TrainVerdict:
    if result.status == "diverges":
        return TrainVerdict(result.mode, False, f"{result.mode} stays finite but does not learn as float32 does: "
                                                f"{result.shortfall}")
    if result.trains_finite:
        losses = [x for x in result.losses if x is not None]
        return TrainVerdict(result.mode, True, f"{result.mode} trains finite and learns as float32 does: "
                                               f"loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    if result.error is not None:
        return TrainVerdict(result.mode, False, f"{result.mode} could not train: {result.error.type}: "
                                                f"{result.error.message.splitlines()[0] if result.error.message else ''}")
    if result.first_nonfinite is not None:
        bad = result.first_nonfinite
        where = f" ({bad.parameter})" if bad.parameter else ""
        return TrainVerdict(result.mode, False, f"{result.mode}: non-finite {bad.what}{where} at step {bad.step}")
    return TrainVerdict(result.mode, False, f"{result.mode}: predictions after training are not finite")


def run_train_check(options: TrainOptions, progress: Callable[[str], None] = lambda _: None) -> TrainReport:
    from ..engine.scanner import environment
    from .data import builtin_training_pairs, read_training_pairs

    if options.mode not in (ANY_MODE, *MODES):
        raise PrecheckError(f"unknown --mode {options.mode!r}", f"use {ANY_MODE} (the default), {', '.join(MODES)}")
    if options.steps < 1 or options.batch_size < 1 or not options.lr > 0:
        raise PrecheckError("--steps and --batch-size must be at least 1 and --lr above 0")
    if not options.max_loss_ratio >= 1 or not 0 <= options.min_loss_drop <= 1 or not -1 <= options.min_spearman <= 1:
        raise PrecheckError("--max-loss-ratio must be at least 1, --min-loss-drop in [0, 1] and "
                            "--min-train-spearman in [-1, 1]")
    data = read_training_pairs(options.data_file) if options.data_file else builtin_training_pairs()
    model = resolve_model(options.model, options.kind, options.load.revision if options.load else None)
    kind = kind_for(model.kind)
    if kind.trains_by is None:
        trainable = sorted(name for name, known in KINDS.items() if known.trains_by is not None)
        raise PrecheckError(f"train-check does not train {model.kind} models yet",
                            f"it trains {' and '.join(trainable)} models; precheck scan tests this one")
    check_remote_code(model, options.trust_remote_code)
    device = resolve_device(options.device)
    quiet_libraries()
    probe_pairs = [(q, p) for q, p, _ in data[:PROBE_PAIRS]]

    attention: list[str] = []  # the kernel(s) the float32 reference trains with, read at its load

    def load(weights: str):
        loaded = load_model(model, device, weights, options.load or options.trust_remote_code)
        if not attention:
            attention.append(attention_implementations(torch_module(loaded)))
        return loaded

    progress("training float32 reference")
    reference_result, reference = train_one_mode(load, kind, "float32", "float32", data, probe_pairs,
                                                 options, device)
    release_memory()
    if reference_result.error is not None or not reference_result.trains_finite:
        raise PrecheckError(f"{options.model} does not train finite even in float32",
                            "check --data and --lr; precheck needs a float32 run to compare with")
    judge_reference(reference_result)
    modes = [reference_result]
    for mode in MODES:
        low = options.dtype if mode == "half" else AUTOCAST.get(mode, "bfloat16")
        supported, why = device_supports(device, low)
        if not supported:
            modes.append(ModeResult(mode, low, low, error=ErrorInfo("Unsupported", why), status="unsupported"))
            continue
        progress(f"training {mode} ({options.steps} steps)")
        result, _ = train_one_mode(load, kind, mode, low, data, probe_pairs, options, device, reference)
        release_memory()
        judge(result, reference_result, options)
        modes.append(result)
    recommendation = recommend(modes, model.kind, device, options.mode, options.model)
    if options.mode == ANY_MODE:
        # The question most users have: can I train in less than float32 at all, and how?
        chosen = next((m for m in modes if m.mode == recommendation.mode), None)
        verdict = _verdict(chosen) if chosen is not None else TrainVerdict(
            ANY_MODE, False, "no low-precision mode trains finite and learns as float32 does: train in float32")
    else:
        verdict = _verdict(next(m for m in modes if m.mode == options.mode))
    return TrainReport(
        model=ModelInfo(model.name, model.path, model.kind, model.source, attention=attention[0] if attention else ""),
        environment=environment(device),
        settings={"mode": options.mode, "dtype": options.dtype, "steps": options.steps, "lr": options.lr,
                  "batch_size": options.batch_size, "data": str(options.data_file or "builtin"),
                  "pairs": len(data), "seed": options.seed, "max_loss_ratio": options.max_loss_ratio,
                  "min_loss_drop": options.min_loss_drop, "min_spearman": options.min_spearman},
        modes=modes,
        recommendation=recommendation,
        verdict=verdict,
    )
