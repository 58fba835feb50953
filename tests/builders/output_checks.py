"""What "printed whole" means for a scan's terminal view, shared by the current-stack and st3 tests."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import invoke


def scan_view_and_report(model, probe_file, folder: Path, *extra: str) -> tuple[int, str, dict]:
    """The terminal view (stdout is not a terminal under the runner: rich lays it out at 80 columns
    unless COLUMNS says otherwise) and the JSON report of the same run."""
    path = folder / "report.json"
    run = invoke("scan", model, "--texts", probe_file, "--json", path, "--force", *extra)
    return run.exit_code, run.stdout, json.loads(path.read_text(encoding="utf-8"))


def figures_that_must_be_whole(report: dict) -> list[str]:
    """Every figure, status, dtype and module path of the report, as the terminal formats it."""
    wanted = []
    for r in report["results"]:
        wanted += [r["dtype"], r["status"]]
        wanted += [format(r[k], ".6f") for k in ("min_cosine", "mean_cosine") if r[k] is not None]
    for dtype, rows in report["modules"].items():
        for row in rows:
            # One table, a column per load: each load's size in MiB, and for an uncast module the
            # parameter dtypes that are not the load's (a dtype and its count may sit on two lines).
            wanted += [row["path"], row["cls"], f"{row['params']:,}", f"{row['size_mb'] * 1e6 / 2**20:,.1f}"]
            if row["flagged"]:
                wanted.append(f"not {dtype}:")
                wanted += [part for name, n in row["param_dtypes"].items() if name != dtype
                           for part in (f"{name}:", f"{n:,}")]
    for d in report["diagnoses"]:
        wanted += [d["module"], d["cause"]]
    for h in report["headroom"]:
        if h["kind"] != "part" or h["fp16_fraction"] >= 0.01:  # the view leaves out parts far from the edge
            wanted.append(h["module"])
    for f in report["fixes"]:
        wanted.append(f["strategy"])
        wanted += f["keep_fp32"]
    return wanted


def cut_lines(view: str) -> list[str]:
    return [line for line in view.splitlines() if "…" in line]


def missing(view: str, wanted: list[str]) -> list[str]:
    # Folded text would split a figure across two lines: each must sit whole on one line.
    lines = view.splitlines()
    return [w for w in wanted if not any(w in line for line in lines)]
