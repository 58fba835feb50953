"""precheck scan on real models: what a user and a CI gate see."""
from __future__ import annotations

import jsonschema
import pytest

from conftest import scan_json
from precheck.data.schema import REPORT_SCHEMA


def statuses(report: dict) -> dict[tuple[str, str], str]:
    return {(r["dtype"], r["strategy"]): r["status"] for r in report["results"]}


def test_scan_plain_model_passes_fp16_and_bf16(plain_scan):
    run, report = plain_scan
    assert run.exit_code == 0
    assert set(statuses(report).values()) == {"ok"}
    assert report["verdict"]["passed"] is True


def test_scan_plain_model_figures_are_close_to_float32(plain_scan):
    _, report = plain_scan
    for result in report["results"]:
        assert result["min_cosine"] >= 0.999
        assert result["min_cosine"] <= result["mean_cosine"] <= 1.0 + 1e-9
        assert result["nonfinite"] == 0
        assert 0.0 <= result["top1_agreement"] <= 1.0
        assert result["param_bytes"] < report["reference"]["param_bytes"]


def test_scan_report_validates_against_the_schema(plain_scan):
    _, report = plain_scan
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["schema"] == "precheck.report/1"


def test_scan_report_has_documented_keys(plain_scan):
    _, report = plain_scan
    assert list(report) == [
        "schema", "model", "environment", "settings", "reference", "modules", "results", "verdict", "notes",
        "diagnoses", "fixes", "headroom", "drift", "serving", "memory", "storage", "truncation", "evaluation",
    ]
    assert set(report["results"][0]) == {
        "dtype", "strategy", "status", "error", "nonfinite", "min_cosine", "mean_cosine",
        "top1_agreement", "seconds", "param_bytes", "max_abs_diff", "spearman", "same_as",
        "active_dims", "active_dims_change", "topk_overlap", "topk_terms", "per_item",
    }
    assert [(r["dtype"], r["strategy"]) for r in report["results"]] == [
        ("float16", "load"), ("float16", "cast"), ("bfloat16", "load"), ("bfloat16", "cast"),
    ]


def test_scan_module_table_lists_top_level_modules_per_dtype(plain_scan):
    _, report = plain_scan
    assert set(report["modules"]) == {"float32", "float16", "bfloat16"}
    rows = report["modules"]["float16"]
    assert [(r["path"], r["cls"]) for r in rows] == [("0", "Transformer"), ("1", "Pooling"), ("2", "Normalize")]
    assert rows[0]["param_dtypes"] == {"float16": rows[0]["params"]}
    assert not any(r["flagged"] for r in rows)


def test_scan_depth_expands_submodules_by_dotted_path(plain_model, probe_file):
    from precheck import scan

    report = scan(str(plain_model), dtypes=["bf16"], texts_file=probe_file, depth=3)
    paths = [row.path for row in report.modules["bfloat16"]]
    assert paths[0] == "0"
    assert {p.count(".") for p in paths} == {0, 1, 2}
    assert any(p.startswith("0.") and p.endswith(".encoder") for p in paths)


def test_scan_json_to_stdout_carries_nothing_else(plain_scan):
    run, _ = plain_scan
    assert run.stdout.lstrip().startswith("{") and run.stdout.rstrip().endswith("}")


def test_scan_terminal_view_shows_tables_and_verdicts(plain_fp16_run):
    run = plain_fp16_run
    assert run.exit_code == 0
    assert "Modules: MiB per load (torch_dtype)" in run.stdout
    assert "Test runs against float32 (8 texts)" in run.stdout
    assert "PASS float16" in run.stdout


def test_scan_progress_goes_to_stderr_when_not_a_terminal(plain_fp16_run):
    run = plain_fp16_run
    assert "precheck: loading float32 reference" in run.stderr
    assert "precheck:" not in run.stdout


def test_scan_float32_made_in_forward_errors_in_both_dtypes_and_strategies(float32_in_forward_scan):
    run, report = float32_in_forward_scan
    assert run.exit_code == 1
    assert set(statuses(report).values()) == {"error"}
    for result in report["results"]:
        assert result["error"]["type"] == "RuntimeError"
        assert "same dtype" in result["error"]["message"]


def test_scan_float32_in_forward_verdict_says_why(float32_in_forward_scan):
    _, report = float32_in_forward_scan
    summaries = {v["dtype"]: v["summary"] for v in report["verdict"]["dtypes"]}
    assert "fails: RuntimeError" in summaries["float16"]
    assert report["verdict"]["passed"] is False


def test_scan_overflow_is_nonfinite_in_fp16_and_ok_in_bf16(overflow_scan):
    run, report = overflow_scan
    assert run.exit_code == 1
    got = statuses(report)
    assert got[("float16", "load")] == "nonfinite"
    assert got[("float16", "cast")] == "nonfinite"
    assert got[("bfloat16", "load")] == "ok"
    assert got[("bfloat16", "cast")] == "ok"


def test_scan_overflow_counts_affected_texts(overflow_scan):
    _, report = overflow_scan
    fp16 = next(r for r in report["results"] if r["dtype"] == "float16" and r["strategy"] == "load")
    assert 1 <= fp16["nonfinite"] <= report["settings"]["probe_items"]


def test_scan_drift_below_min_cosine_fails(drift_report):
    report = drift_report
    assert report.result("bfloat16", "load").status == "drift"
    assert report.verdict.passed is False


@pytest.mark.parametrize("spelling", ["fp16", "float16", "half", "FP16"])
def test_dtype_parser_accepts_every_fp16_spelling(spelling):
    from precheck.dtypes import parse_low_dtypes

    assert parse_low_dtypes([spelling]) == ("float16",)


def test_dtype_parser_accepts_comma_separated_dtypes():
    from precheck.dtypes import parse_low_dtypes

    assert parse_low_dtypes(["bf16,fp16"]) == ("bfloat16", "float16")


def test_builtin_probe_set_has_long_multilingual_and_edge_texts():
    from precheck.kinds.texts import builtin_texts

    texts = builtin_texts(256)
    assert len(texts) >= 32
    assert "" in texts and "   " in texts
    assert max(len(t.split()) for t in texts) >= 256
    assert any("東京" in t for t in texts) and any("def " in t for t in texts)


def test_scan_dense_model_passes_on_a_release_that_casts_every_module(dense_model, probe_file):
    # sentence-transformers 5+/6 casts the modules after the first to its dtype on load;
    # the same model fails on 3.0.1 (tests/test_st3_stack.py).
    run, report = scan_json(dense_model, probe_file, "-d", "fp16")
    assert run.exit_code == 0
    rows = {r["cls"]: r for r in report["modules"]["float16"]}
    assert rows["Dense"]["param_dtypes"] == {"float16": rows["Dense"]["params"]}
