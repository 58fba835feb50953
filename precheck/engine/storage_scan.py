"""Where --storage meets the scan: its checks before any load, the built-in corpus added to the
probe texts, and the storage figures made from the embeddings the scan's runs already computed.

The scan keeps each `load` run's embeddings (scanner.ScanSession.kept); nothing here loads or encodes
a model, except a --calibration file's texts, encoded once by the float32 reference the scan loaded.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import PrecheckError
from ..session import ScanRun


def check_storage_options(options, kind: str) -> list[str] | None:
    """Storage for a model kind without dense embeddings fails before any load (the values themselves were
    checked at their door, resolve.py); returns the --calibration texts (None: held apart)."""
    from ..kinds import kind_for

    if not options.storage:
        return None
    if not kind_for(kind).dense_embeddings:
        raise PrecheckError(f"--storage measures dense embeddings; {options.model_name} is a {kind}",
                            "scan a sentence-transformer model, or leave --storage out (docs/storage.md)")
    if options.calibration_file is None:
        return None
    return read_calibration(options.calibration_file)


def read_calibration(path: Path) -> list[str]:
    from ..kinds.texts import read_texts

    return read_texts(path, "--calibration")


def with_corpus(items: list[str], from_file: bool) -> tuple[list[str], list[int]]:
    """(probe items, rows searched): a --texts file is searched whole; otherwise the built-in
    corpus is added to the built-in probe texts, and only its rows are searched (the probe set's
    empty strings and window-filling repeats are there to break float16, not to be retrieved)."""
    if from_file:
        return items, list(range(len(items)))
    from .storage import builtin_corpus

    position = {text: i for i, text in enumerate(items)}
    items = list(items)
    rows = []
    for text in builtin_corpus():
        if text not in position:
            position[text] = len(items)
            items.append(text)
        rows.append(position[text])
    return items, rows


def add_storage(report, session) -> None:
    """report.storage for float32 and each dtype that passed, notes for those left out; the scan then
    judges the whole report again (engine/verdict.py), storage gates included."""
    report.storage, notes = storage_of_scan(session, report.verdict)
    report.notes.extend(notes)


def storage_of_scan(session: ScanRun, verdict):
    from .storage import measure_storage

    options = session.options
    passed = [v.dtype for v in verdict.dtypes if v.passed and v.dtype in session.kept]
    runs = {"float32": session.reference, **{dtype: session.kept[dtype] for dtype in passed}}
    source = str(options.calibration_file) if options.calibration_file is not None else "held-apart"
    check = measure_storage(session.reference, runs, session.storage_rows, options.storage, options.min_recall,
                            session.calibration, source, rescore_multiplier=options.rescore_multiplier,
                            rescore_with=options.rescore_with)
    notes = [f"{v.dtype} did not pass the scan ({v.status}): its embeddings are not measured in storage"
             for v in verdict.dtypes if not v.passed]
    return check, notes
