"""Documents precheck reads that are not what they claim (shard reports for `merge`, safetensors
headers and indexes for `--plan-only`): exit 2 and one stderr line naming the field, never a
traceback or an internal error. Every file here is written by hand: no model is loaded."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import jsonschema
import pytest

from cli_checks import assert_one_line_error, tree
from conftest import invoke

_RESULT = {"dtype": "float16", "strategy": "load", "status": "ok", "error": None, "nonfinite": 0,
           "min_cosine": 0.99999, "mean_cosine": 0.999995, "top1_agreement": 1.0, "seconds": 0.1, "param_bytes": 50}


def valid_ci_report() -> dict:
    """A precheck.ci/1 report of one model, as `precheck ci --json` writes it."""
    from precheck import __version__
    from precheck.gate.config import CiConfig, ModelConfig
    from precheck.gate.run_identity import run_identity

    config = CiConfig(Path("precheck.toml"), (ModelConfig("m", ("float16",)),), Path("precheck-baseline.json"),
                      digest="sha256:" + "0" * 64)
    report = {
        "schema": "precheck.report/1",
        "model": {"name": "m", "path": "/m", "kind": "sentence-transformer", "source": "local"},
        "environment": {"python": "3.11", "torch": "2", "transformers": "5", "sentence_transformers": "6",
                        "device": "cpu"},
        "settings": {"dtypes": ["float16"], "min_cosine": 0.999, "min_spearman": 0.99, "min_top1_agreement": 0.0,
                     "probe_items": 8, "probe_source": "builtin", "batch_size": 32, "depth": 1},
        "reference": {"seconds": 0.1, "param_bytes": 100, "nonfinite": 0},
        "modules": {},
        "results": [dict(_RESULT), dict(_RESULT, strategy="cast")],
        "verdict": {"passed": True, "dtypes": [{"dtype": "float16", "passed": True, "status": "ok", "summary": "ok"}]},
        "notes": [], "diagnoses": [], "fixes": [], "headroom": [], "drift": [],
    }
    return {"schema": "precheck.ci/1", "precheck": __version__, "shard": None, "run": run_identity(config),
            "config": "precheck.toml", "baseline": {"path": "precheck-baseline.json", "found": False, "updated": False},
            "passed": True,
            "models": [{"name": "m", "fix": True, "passed": True, "error": None, "regressions": [], "report": report}]}


def _report(document: dict) -> dict:
    return document["models"][0]["report"]


# (id, edit of a valid report, what the one line names, whether the published schema alone refuses it)
REPORT_ROWS = [
    ("report-null", lambda d: d["models"][0].update(report=None), "models[0].report is null", False),
    ("shard-abc", lambda d: d.update(shard="abc"), "shard is 'abc', expected K/N", True),
    ("shard-1-of-x", lambda d: d.update(shard="1/x"), "shard is '1/x', expected K/N", True),
    ("shard-number", lambda d: d.update(shard=5), "shard is an integer, expected a string or null", True),
    ("shard-0-of-0", lambda d: d.update(shard="0/0"), "shard is '0/0', expected K/N", True),
    ("shard-3-of-2", lambda d: d.update(shard="3/2"), "K must be between 1 and N", False),
    ("results-empty", lambda d: _report(d).update(results=[]), "models[0].report.results is empty", True),
    ("verdict-missing", lambda d: _report(d).pop("verdict"), "models[0].report.verdict is missing", True),
    ("figure-string", lambda d: _report(d)["results"][1].update(min_cosine="0.9"),
     "models[0].report.results[1].min_cosine is a string, expected a number or null", True),
    ("figure-boolean", lambda d: _report(d)["results"][0].update(nonfinite=True),
     "models[0].report.results[0].nonfinite is a boolean, expected an integer", True),
    ("status-unknown", lambda d: _report(d)["results"][0].update(status="great"),
     "models[0].report.results[0].status is 'great', expected one of", True),
    ("threshold-nan", lambda d: d["run"]["models"][0].update(min_cosine=float("nan")),
     "run.models[0].min_cosine is nan, expected a finite number", False),
    ("name-number", lambda d: d["models"][0].update(name=5), "models[0].name is an integer, expected a string", True),
    ("models-object", lambda d: d.update(models={}), "models is an object, expected a list", True),
    ("run-missing", lambda d: d.pop("run"), "run is missing", True),
    ("digest-garbled", lambda d: d["run"].update(digest="md5:1"), "run.digest is 'md5:1', expected sha256:", True),
    ("dtypes-empty", lambda d: _report(d)["settings"].update(dtypes=[]),
     "models[0].report.settings.dtypes is empty", True),
    ("no-load-result", lambda d: _report(d)["results"].pop(0), "models[0].report.results has no float16 load result",
     False),
    ("result-of-another-dtype", lambda d: _report(d)["results"][1].update(dtype="bfloat16"),
     "models[0].report.results[1].dtype is 'bfloat16', which settings.dtypes does not list", False),
    ("fix-without-status", lambda d: _report(d)["fixes"].append(
        {"dtype": "float16", "strategy": "cast", "keep_fp32": [], "fp32_param_share": 0.0, "verified": True,
         "min_cosine": 1.0, "recommended": True, "snippet": "x"}),
     "models[0].report.fixes[0].precheck_snippet is missing", False),
    ("spearman-alone", lambda d: _report(d)["results"][0].update(spearman=1.0),
     "models[0].report.results[0] has spearman but no max_abs_diff", False),
    ("regression-of-strings", lambda d: d["models"][0]["regressions"].append(
        {"model": "m", "dtype": "float16", "figure": "min_cosine", "baseline": "ok", "current": 0.5, "tolerance": None}),
     "models[0].regressions[0]: a min_cosine regression's baseline, current and tolerance should be numbers", False),
    ("unknown-field", lambda d: d.update(verdict="passed"), "verdict is not a field of the document", True),
]


def test_hand_written_valid_report_merges_and_matches_the_published_schema(tmp_path, monkeypatch):
    from precheck.data.schema.ci import CI_REPORT_SCHEMA

    document = valid_ci_report()
    jsonschema.validate(document, CI_REPORT_SCHEMA)
    (tmp_path / "report.json").write_text(json.dumps(document))
    monkeypatch.chdir(tmp_path)
    assert invoke("merge", "report.json", "-q").exit_code == 0


@pytest.mark.parametrize("row", REPORT_ROWS, ids=[row[0] for row in REPORT_ROWS])
def test_merge_of_a_malformed_report_names_the_field_in_one_line(tmp_path, monkeypatch, row):
    from precheck.data.schema.ci import CI_REPORT_SCHEMA

    _, edit, needle, schema_refuses = row
    document = valid_ci_report()
    edit(document)
    if schema_refuses:  # the in-package check and jsonschema agree on the published schema
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(document, CI_REPORT_SCHEMA)
    (tmp_path / "shard1.json").write_text(json.dumps(document))
    monkeypatch.chdir(tmp_path)
    _refused_in_one_line(tmp_path, ["merge", "shard1.json", "--json", "merged.json"], "shard1.json: ", needle)


@pytest.mark.parametrize("content, needle", [
    (b"[" * 200_000 + b"]" * 200_000, "nested too deep"),
    (b"{", "is not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[]", "the document is a list, expected an object"),
    (b'{"schema": "precheck.report/1"}', "schema is 'precheck.report/1', expected 'precheck.ci/1'"),
], ids=["nested-200000-deep", "truncated", "not-utf8", "a-list", "a-scan-report"])
def test_merge_of_a_file_that_is_no_ci_report_says_so_in_one_line(tmp_path, monkeypatch, content, needle):
    (tmp_path / "shard1.json").write_bytes(content)
    monkeypatch.chdir(tmp_path)
    _refused_in_one_line(tmp_path, ["merge", "shard1.json", "--json", "merged.json"], "shard1.json", needle)


def _refused_in_one_line(folder: Path, args: list, *needles: str) -> None:
    """Exit 2, one stderr line naming the field, no internal error, and nothing written or left."""
    before = tree(folder)
    run = invoke(*args)
    assert_one_line_error(run, *needles)
    assert "internal error" not in run.stderr
    assert tree(folder) == before


def _safetensors(header, data: bytes = b"", length: int | None = None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _tensor(dtype="F32", shape=(4,), offsets=(0, 16)) -> dict:
    return {"w": {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}}


HEADER_ROWS = [
    ("header-is-a-list", _safetensors([], b""), "the header is a JSON list, expected an object"),
    ("shape-of-strings", _safetensors(_tensor(shape=("4",)), bytes(16)), "shape[0] is '4', expected a non-negative"),
    ("negative-dimension", _safetensors(_tensor(shape=(-4,)), bytes(16)), "shape[0] is -4, expected a non-negative"),
    ("unknown-dtype", _safetensors(_tensor(dtype="F33"), bytes(16)), "dtype 'F33' is not a safetensors dtype"),
    ("offsets-backwards", _safetensors(_tensor(offsets=(16, 0)), bytes(16)), "ends before it begins"),
    ("offsets-wrong-size", _safetensors(_tensor(offsets=(0, 8)), bytes(16)), "hold 8 bytes, but F32 [4] needs 16"),
    ("offsets-past-the-end", _safetensors(_tensor(), bytes(8)), "run past the end of the file"),
    ("offsets-not-a-pair", _safetensors(_tensor(offsets=(0,)), bytes(16)), "is not [begin, end]"),
    ("tensors-overlap", _safetensors({**_tensor(), "v": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}},
                                     bytes(24)), "tensor 'v' data_offsets [8, 24] begin at 8, expected 16"),
    ("bytes-after-the-tensors", _safetensors(_tensor(), bytes(20)), "the tensors cover 16 bytes of data and the file holds 20"),
    ("entry-not-an-object", _safetensors({"w": [1, 2]}), "tensor 'w' is a list"),
    ("metadata-not-strings", _safetensors({"__metadata__": {"format": 1}}), "__metadata__ should be an object of strings"),
    ("header-over-100MB", _safetensors(b"{}", length=200_000_000), "over the format's limit"),
    ("header-past-the-end", _safetensors(b"{}", length=1000), "past the end of the file"),
    ("shorter-than-8-bytes", b"abc", "shorter than the 8-byte header length"),
    ("header-not-json", _safetensors(b"{nope"), "the header is not JSON"),
    ("header-nested-deep", _safetensors(b"[" * 200_000 + b"]" * 200_000), "the header is not JSON"),
]


def _model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "model_type": "bert"}))
    return folder


def _plan_only_refuses(tmp_path: Path, name: str, content: bytes | str, *needles: str) -> Path:
    """A hand-made model folder whose file `name` holds `content`: `scan --plan-only` refuses it in one line."""
    folder = _model_folder(tmp_path)
    path = folder / name
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    _refused_in_one_line(tmp_path, ["scan", folder, "--plan-only", "--json", tmp_path / "plan.json"], *needles)
    return folder


@pytest.mark.parametrize("row", HEADER_ROWS, ids=[row[0] for row in HEADER_ROWS])
def test_plan_only_on_a_malformed_safetensors_header_names_the_field_in_one_line(tmp_path, row):
    _, content, needle = row
    _plan_only_refuses(tmp_path, "model.safetensors", content, "model.safetensors", needle)


INDEX_ROWS = [
    ("weight-map-a-list", {"weight_map": ["a.safetensors"]}, "weight_map is a list, expected an object"),
    ("weight-map-to-numbers", {"weight_map": {"w": 5}}, "weight_map['w'] is 5, expected a file name"),
    ("weight-map-missing", {"metadata": {}}, "weight_map is missing"),
    ("weight-map-empty", {"weight_map": {}}, "weight_map is empty"),
    ("outside-the-folder", {"weight_map": {"w": "../a.safetensors"}}, "outside the model folder"),
    ("index-a-list", [], "it is a JSON list"),
    ("shard-missing", {"weight_map": {"w": "model-00002-of-00002.safetensors"}},
     "model-00002-of-00002.safetensors is listed in"),
]


@pytest.mark.parametrize("row", INDEX_ROWS, ids=[row[0] for row in INDEX_ROWS])
def test_plan_only_on_a_malformed_safetensors_index_names_the_field_in_one_line(tmp_path, row):
    _, index, needle = row
    folder = _plan_only_refuses(tmp_path, "model.safetensors.index.json", json.dumps(index), needle)
    assert "not a safetensors file" not in invoke("scan", folder, "--plan-only").stderr


def test_plan_only_counts_a_valid_hand_written_header(tmp_path):
    folder = _model_folder(tmp_path)
    (folder / "model.safetensors").write_bytes(_safetensors(_tensor(shape=(2, 2)), bytes(16)))
    run = invoke("scan", folder, "--plan-only", "--json", "-")
    assert run.exit_code == 0 and run.json()["memory"]["parameters"] == 4


MODULES_ROWS = [
    ("modules-an-object", json.dumps({"0": {"type": "sentence_transformers.models.Transformer", "path": ""}}),
     "should hold a list of modules"),
    ("module-path-a-number", json.dumps([{"type": "sentence_transformers.models.Transformer", "path": 0}]),
     "is corrupt: each module should be an object"),
    ("modules-not-json", "[{", "is not valid JSON"),
]


@pytest.mark.parametrize("row", MODULES_ROWS, ids=[row[0] for row in MODULES_ROWS])
def test_plan_only_on_a_malformed_modules_json_names_the_file_in_one_line(tmp_path, row):
    _, content, needle = row
    _plan_only_refuses(tmp_path, "modules.json", content, "modules.json", needle)


_PLAN = {"schema": "precheck.plan/1", "dtype": "float16", "strategy": "keep-fp32", "keep_fp32": ["0.auto_model"]}
PLAN_ROWS = [
    ("plan-not-json", "{", "is not JSON"),
    ("plan-a-list", "[]", "is not a precheck plan"),
    ("plan-another-version", json.dumps(dict(_PLAN, schema="precheck.plan/9")), "schema"),
    ("plan-strategy-unknown", json.dumps(dict(_PLAN, strategy="pray")), "strategy"),
    ("plan-dtype-float64", json.dumps(dict(_PLAN, dtype="float64")), "dtype"),
    ("plan-keep-fp32-numbers", json.dumps(dict(_PLAN, keep_fp32=[3])), "keep_fp32[0]"),
    ("plan-load-device-map", json.dumps(dict(_PLAN, load={"device_map": "auto"})), "device_map"),
    ("plan-unknown-key", json.dumps(dict(_PLAN, run_as_root=True)), "run_as_root"),
]


@pytest.mark.parametrize("row", PLAN_ROWS, ids=[row[0] for row in PLAN_ROWS])
def test_load_of_a_folder_with_a_malformed_precheck_json_names_the_field_before_any_load(tmp_path, row):
    # precheck.load applies the plan in the folder: it is checked against docs/schemas/plan.schema.json first.
    import precheck

    _, content, needle = row
    folder = _model_folder(tmp_path)
    (folder / "precheck.json").write_text(content)
    with pytest.raises(precheck.PrecheckError) as caught:
        precheck.load(str(folder), device="cpu")
    assert "precheck.json" in str(caught.value) and needle in str(caught.value)


def test_a_model_config_past_the_read_limit_is_refused_in_one_line(tmp_path):
    # Every document precheck reads goes through one bounded read, the model's own config.json too.
    import os

    from precheck.data.reading import MAX_INPUT_BYTES

    folder = tmp_path / "model"
    folder.mkdir()
    with open(folder / "config.json", "wb") as stream:
        os.truncate(stream.fileno(), MAX_INPUT_BYTES + 1)  # sparse: costs no disk
    _refused_in_one_line(tmp_path, ["scan", folder, "--plan-only", "--json", tmp_path / "plan.json"],
                         "config.json", "larger than 64 MiB")
