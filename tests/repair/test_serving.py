"""The flag to pass to your server: advice per verdict shape, on real scans (issue 13)."""
from __future__ import annotations

import dataclasses
import json

import jsonschema
import pytest

from precheck.data.schema import REPORT_SCHEMA

SERVERS = ["text-embeddings-inference", "vllm", "infinity"]


def flags(report: dict) -> dict[str, tuple[str, str]]:
    return {s["server"]: (s["flag"], s["dtype"]) for s in report["serving"]}


def test_scan_serving_passing_model_gets_float16_on_every_server(plain_scan):
    _, report = plain_scan
    assert [s["server"] for s in report["serving"]] == SERVERS
    assert set(flags(report).values()) == {("--dtype float16", "float16")}


def test_scan_serving_fp16_overflow_gets_bfloat16_where_the_server_has_it(overflow_scan):
    _, report = overflow_scan
    assert flags(report) == {
        "text-embeddings-inference": ("--dtype float32", "float32"),  # candle/ort: float16 or float32 only
        "vllm": ("--dtype bfloat16", "bfloat16"),
        "infinity": ("--dtype bfloat16", "bfloat16"),
    }


def test_scan_serving_says_a_keep_fp32_fix_is_beyond_any_flag(overflow_scan):
    _, report = overflow_scan
    assert next(f for f in report["fixes"] if f["recommended"])["strategy"] == "keep-fp32"
    for advice in report["serving"]:
        assert "keep-fp32" in advice["note"] and "its own code" in advice["note"]


def test_scan_serving_quotes_the_figure_that_passed(overflow_scan):
    _, report = overflow_scan
    bf16 = next(r for r in report["results"] if r["dtype"] == "bfloat16" and r["strategy"] == "load")
    vllm = next(s for s in report["serving"] if s["server"] == "vllm")
    assert f"min cosine {bf16['min_cosine']:.6f}" in vllm["note"]


def test_scan_serving_autocast_fixed_model_gets_float32_everywhere(float32_in_forward_scan):
    _, report = float32_in_forward_scan
    assert {f["strategy"] for f in report["fixes"] if f["recommended"]} == {"autocast"}
    assert set(flags(report).values()) == {("--dtype float32", "float32")}
    assert all("autocast" in s["note"] and "its own code" in s["note"] for s in report["serving"])


def test_scan_serving_validates_against_the_schema(overflow_scan):
    _, report = overflow_scan
    jsonschema.validate(report, REPORT_SCHEMA)


def test_scan_terminal_shows_the_serving_section(plain_fp16_run):
    run = plain_fp16_run
    assert run.exit_code == 0
    assert "Serving" in run.stdout
    assert "text-embeddings-inference --dtype float16" in run.stdout
    assert "vllm --dtype float16" in run.stdout


@pytest.fixture(scope="module")
def fp16_only_report(plain_model, probe_file):
    from precheck import scan

    return scan(str(plain_model), dtypes=["fp16"], texts_file=probe_file, fix=False)


def test_serving_advice_with_bfloat16_unscanned_falls_back_to_float32_and_says_why(fp16_only_report):
    from precheck.engine.serving import serving_advice

    failed = dataclasses.replace(
        fp16_only_report,
        verdict=dataclasses.replace(fp16_only_report.verdict, passed=False, dtypes=[
            dataclasses.replace(v, passed=False) for v in fp16_only_report.verdict.dtypes]),
        results=[dataclasses.replace(r, status="drift") for r in fp16_only_report.results],
    )
    advice = serving_advice(failed)
    assert {(a.flag, a.dtype) for a in advice} == {("--dtype float32", "float32")}
    assert all("bfloat16 was not scanned" in a.note for a in advice)


def test_serving_advice_is_a_pure_function_of_the_report(fp16_only_report):
    from precheck.engine.serving import serving_advice

    assert serving_advice(fp16_only_report) == serving_advice(fp16_only_report) == fp16_only_report.serving


def test_serving_advice_calls_a_dtype_the_device_could_not_run_unverified(fp16_only_report):
    from precheck.engine.serving import serving_advice

    unsupported = dataclasses.replace(
        fp16_only_report,
        verdict=dataclasses.replace(fp16_only_report.verdict, passed=False, dtypes=[
            dataclasses.replace(v, passed=False, status="unsupported") for v in fp16_only_report.verdict.dtypes]),
        results=[dataclasses.replace(r, status="unsupported") for r in fp16_only_report.results],
    )
    advice = serving_advice(unsupported)
    assert {a.dtype for a in advice} == {"float32"}
    assert all("float16 could not run on the scanning device" in a.note for a in advice)


def _as_model_type(report, model_type: str, passed: bool):
    """The real fp16 scan's report, its model_type changed (and its verdict, when failed)."""
    model = dataclasses.replace(report.model, model_type=model_type)
    if passed:
        return dataclasses.replace(report, model=model)
    return dataclasses.replace(
        report, model=model,
        verdict=dataclasses.replace(report.verdict, passed=False, dtypes=[
            dataclasses.replace(v, passed=False, status="drift") for v in report.verdict.dtypes]),
        results=[dataclasses.replace(r, status="drift") for r in report.results])


def test_serving_text_embeddings_inference_takes_qwen2_in_float16_only_and_says_where(fp16_only_report):
    from precheck.engine.serving import serving_advice

    tei = serving_advice(_as_model_type(fp16_only_report, "qwen2", passed=True))[0]
    assert (tei.flag, tei.dtype) == ("--dtype float16", "float16")
    assert "only in float16, on CUDA with flash attention" in tei.note


def test_serving_gives_text_embeddings_inference_no_flag_when_qwen2_fails_float16(fp16_only_report):
    # float32, the usual way out, does not start for qwen2 in that server: no flag is honest.
    from precheck.engine.serving import serving_advice

    report = _as_model_type(fp16_only_report, "qwen2", passed=False)
    tei = serving_advice(report)[0]
    assert (tei.flag, tei.dtype) == ("", None)
    assert tei.note.startswith("no dtype flag serves it")
    jsonschema.validate(json.loads(dataclasses.replace(report, serving=serving_advice(report)).to_json()),
                        REPORT_SCHEMA)
