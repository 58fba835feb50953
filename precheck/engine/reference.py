"""The float32 reference of one scan: one immutable value, which either the computation here or the
cache (reference_cache.py) returns, and which every run, diagnosis and fix is measured against.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..compare.dense import nonfinite_rows
from ..data.report import Headroom, ModuleRow, Reference
from ..errors import PrecheckError
from ..kinds import kind_for, torch_module


@dataclass(frozen=True)
class Float32Reference:
    """What the float32 run leaves the scan and the report; a cache entry holds exactly this."""

    outputs: object  # float32 tensor, one row per probe item
    items: list  # the probe items the outputs are of (the built-in set, the user's, plus --storage's corpus)
    result: Reference  # the report's reference block
    modules: list[ModuleRow]  # the float32 dtype table
    headroom: list[Headroom]  # each block's largest |activation| in the float32 encode
    # loading/fingerprint.py of the float32 model the outputs came from; None when no cache asked for it
    fingerprint: str | None
    attention: str  # the attention kernel(s) the reference ran (fingerprint.attention_implementations)
    notes: list[str]  # what the report's notes say of the reference's load
    token_lengths: list[int] | None = None  # each probe item's tokens before any cut (engine/moved.py)
    window: int | None = None  # the window that cuts them


def probe_file(options, kind: str) -> Path | None:
    return options.texts_file if kind_for(kind).probe_option == "texts" else options.pairs_file


def compute_reference(session, model=None, fingerprint: str | None = None):
    """(the reference, the buffers' check) computed with `session`'s float32 model: `model` when it is
    already loaded (to check a cache entry, whose fingerprint of it is `fingerprint`), else loaded here.
    Its side products for later steps (the weights' sums, --calibration's and --eval's float32 passes,
    the storage rows) go to the session; the model is released before it returns."""
    from ..diagnosis.blocks import recording_headroom
    from ..diagnosis.reference_check import check_reference
    from ..diagnosis.reference_weights import weight_sums
    from ..loading.fingerprint import attention_implementations, model_fingerprint
    from ..loading.inventory import module_rows
    from ..loading.load import release_memory
    from ..loading.raw_checkpoint import raw_checkpoint_notes
    from ..loading.tokenizer_check import check_tokenizer
    from ..progress import counting_items
    from ..tensors import param_bytes
    from .storage_scan import with_corpus

    if model is None:
        session.progress("loading float32 reference")
        model = session.load_reference()
    net = torch_module(model)
    buffers = check_reference(session, model) if session.source.checks_buffers else None
    session.reference_sums = weight_sums(net)
    if session.cache_key is not None and fingerprint is None:
        fingerprint = model_fingerprint(net)  # what a later run's float32 load is held against
    notes = raw_checkpoint_notes(session.model.path, model, session.model.kind)
    session.notes.extend(notes)
    items = session.items or session.kind.default_items(model)  # a probe file was read before any load
    if session.options.storage:
        items, session.storage_rows = with_corpus(items, probe_file(session.options, session.model.kind) is not None)
    check_tokenizer(model, items, session.model.name, session.model.path)
    session.progress(f"running {len(items)} probe {session.kind.items_label} in float32")
    try:
        # Headroom is read during the reference encode itself: each hook reduces a block's
        # output to one number at once, so no activation outlives its block and the peak
        # stays the bare encode's (docs/benchmarks.md).
        with recording_headroom(net) as headroom, counting_items(net, "float32", len(items), session.progress):
            outputs, seconds = session.run_model(model, items)
    except Exception as exc:  # noqa: BLE001
        from ..loading.model_code import float32_failure

        raise float32_failure(session.model.name, exc, session.model.path) from exc
    if session.calibration_texts is not None:
        session.progress(f"encoding {len(session.calibration_texts)} --calibration texts in float32")
        session.calibration = session.run_model(model, session.calibration_texts)[0]
    if session.evaluation is not None:
        session.evaluation.encode("float32", model, session)
    result = Reference(seconds, param_bytes(model), int(nonfinite_rows(outputs).sum()),
                       int(outputs.shape[-1]) if outputs.dim() > 1 else None, buffers)
    if items and result.nonfinite >= len(items):
        # Nothing is left to compare: a scan that went on would pass on no evidence.
        raise PrecheckError(f"{session.model.name}: float32 itself is NaN/inf for every probe text",
                            "precheck needs a working float32 model to compare against")
    reference = Float32Reference(
        outputs, items, result, module_rows(model, "float32", session.options.depth), headroom(), fingerprint,
        attention_implementations(net), notes, session.kind.token_lengths(model, items), session.kind.window(model))
    del model, net
    release_memory()
    return reference, buffers
