"""The memory plan before loading, and a float32 reference that does not fit (issue 15)."""
from __future__ import annotations

import jsonschema
import pytest

from conftest import invoke, scan_json
from scale_models import build_tiny_model


@pytest.fixture(scope="module")
def sharded_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("memory") / "tiny-sharded", seed=1, max_shard_size="1MB")


@pytest.fixture(scope="module")
def tiny_scan(tiny_model, probe_file):
    return scan_json(tiny_model, probe_file, "-d", "fp16", "--no-fix")


def test_scan_float32_estimate_equals_the_loaded_references_param_bytes(tiny_scan):
    run, report = tiny_scan
    assert run.exit_code == 0
    assert report["memory"]["weights"] == "safetensors"
    assert report["memory"]["estimated_param_bytes"]["float32"] == report["reference"]["param_bytes"]


def test_scan_float32_estimate_of_a_sharded_checkpoint_equals_the_references_param_bytes(sharded_model, probe_file):
    assert len(list(sharded_model.glob("model-*-of-*.safetensors"))) >= 2
    run, report = scan_json(sharded_model, probe_file, "-d", "fp16", "--no-fix")
    assert run.exit_code == 0
    assert report["memory"]["weights"] == "safetensors-index"
    assert report["memory"]["estimated_param_bytes"]["float32"] == report["reference"]["param_bytes"]


def test_scan_float32_estimate_leaves_out_stored_integer_buffers(plain_scan):
    """all-MiniLM-L6-v2's checkpoint also stores position_ids (int64): a buffer, not a parameter."""
    run, report = plain_scan
    assert run.exit_code == 0
    assert report["memory"]["estimated_param_bytes"]["float32"] == report["reference"]["param_bytes"]


def test_scan_half_precision_estimate_equals_the_loaded_runs_param_bytes(tiny_scan):
    _, report = tiny_scan
    load = next(r for r in report["results"] if r["strategy"] == "load")
    assert report["memory"]["estimated_param_bytes"]["float16"] == load["param_bytes"]


def test_scan_report_memory_matches_the_schema_and_says_where_each_run_went(tiny_scan):
    from precheck.data.schema import REPORT_SCHEMA

    _, report = tiny_scan
    jsonschema.validate(report, REPORT_SCHEMA)
    assert [(r["run"], r["dtype"], r["placement"]) for r in report["memory"]["runs"]] == [
        ("reference", "float32", "cpu"), ("load", "float16", "cpu"), ("cast", "float16", "cpu")]


def test_scan_plan_only_prints_the_plan_and_loads_nothing(tmp_path, tiny_model):
    """The tokenizer is taken away: a scan would stop with exit 2, the plan needs none of it. (Cutting the
    tensors off after the header no longer does: the plan checks that they are in the file.)"""
    import shutil

    from scale_models import TOKENIZER_FILES

    folder = shutil.copytree(tiny_model, tmp_path / "no-tokenizer")
    for name in TOKENIZER_FILES:
        (folder / name).unlink(missing_ok=True)
    run = invoke("scan", folder, "--plan-only", "-d", "fp16")
    assert run.exit_code == 0
    assert "Memory plan" in run.stdout and "float32 reference" in run.stdout and "Modules" not in run.stdout
    plan = invoke("scan", folder, "--plan-only", "--json", "-").json()["memory"]
    assert plan["estimated_param_bytes"]["float32"] == 4 * plan["parameters"]


def test_scan_plan_only_says_a_pytorch_bin_checkpoint_needs_a_load(tmp_path, tiny_model):
    """transformers 5 no longer writes .bin files: the older format is written by hand, as it was saved."""
    import shutil

    import torch
    from safetensors.torch import load_file

    folder = shutil.copytree(tiny_model, tmp_path / "bin")
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    plan = invoke("scan", folder, "--plan-only", "--json", "-").json()["memory"]
    assert plan["weights"] == "pytorch-bin" and plan["estimated_param_bytes"] == {}
    assert any("needs a load" in note for note in plan["notes"])


@pytest.fixture(scope="module")
def offloaded_scan(tiny_model, probe_file):
    return scan_json(tiny_model, probe_file, "-d", "fp16", "--no-fix", "--max-memory", "cpu=1MiB")


def test_scan_max_memory_below_the_model_offloads_the_reference_to_disk(offloaded_scan):
    run, report = offloaded_scan
    assert run.exit_code == 0
    reference = report["memory"]["runs"][0]
    assert reference["placement"] == "offload" and "disk" in reference["detail"]
    assert report["memory"]["budget"] == {"cpu": 2**20}
    assert [r["placement"] for r in report["memory"]["runs"][1:]] == ["cpu", "cpu"]


def test_scan_view_says_where_an_offloaded_reference_ran(tiny_model, probe_file):
    run = invoke("scan", tiny_model, "--texts", probe_file, "-d", "fp16", "--no-fix", "--max-memory", "cpu=1MiB")
    assert run.exit_code == 0
    text = " ".join(run.stdout.split())  # rich wraps lines at the runner's 80 columns
    assert "float32 reference ran on: offload (budget cpu <= 1.0 MiB, then disk; went: all on disk)" in text


def test_scan_offloaded_reference_gives_the_figures_of_an_unconstrained_scan(offloaded_scan, tiny_scan):
    _, offloaded = offloaded_scan
    _, whole = tiny_scan
    figures = ("status", "nonfinite", "min_cosine", "mean_cosine", "top1_agreement", "param_bytes")
    assert [[r[k] for k in figures] for r in offloaded["results"]] == [[r[k] for k in figures] for r in whole["results"]]
    assert offloaded["reference"]["param_bytes"] == whole["reference"]["param_bytes"]


def test_scan_reference_device_cpu_places_only_the_reference(tiny_model):
    plan = invoke("scan", tiny_model, "--plan-only", "--json", "-", "--reference-device", "cpu").json()["memory"]
    assert plan["runs"][0]["placement"] == "cpu"


def test_scan_reference_that_fits_nowhere_exits_2_with_the_numbers(tiny_model, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**20, 2**20 - 1024, 1024))
    run = invoke("scan", tiny_model, "--max-memory", "cpu=1MiB")
    assert run.exit_code == 2
    assert "the float32 reference needs 3.8 MiB and only 1.0 MiB is available" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("budget", ["cuda20GiB", "cpu=lots", "disk=1GiB"])
def test_scan_bad_max_memory_exits_2_with_one_line(tiny_model, budget):
    run = invoke("scan", tiny_model, "--plan-only", "--max-memory", budget)
    assert run.exit_code == 2 and run.stderr.startswith("precheck: error: --max-memory")


def test_ci_plan_only_prints_every_models_plan_and_loads_nothing(tmp_path, tiny_model, monkeypatch):
    (tmp_path / "precheck.toml").write_text(f'[[models]]\nname = "{tiny_model}"\n')
    monkeypatch.chdir(tmp_path)
    run = invoke("ci", "--plan-only", "--max-memory", "cpu=1MiB", "--json", "-")
    assert run.exit_code == 0
    (entry,) = run.json()["models"]
    assert entry["model"] == str(tiny_model) and entry["memory"]["runs"][0]["placement"] == "offload"
    assert not (tmp_path / "precheck-baseline.json").exists()


def test_scan_offloaded_cross_encoder_reference_gives_the_figures_of_an_unconstrained_scan(tmp_path, pairs_file):
    from scale_models import build_tiny_cross_encoder

    model = build_tiny_cross_encoder(tmp_path / "reranker")
    common = ("scan", model, "--pairs", pairs_file, "-d", "fp16", "--no-fix", "--json", "-", "-q")
    whole, offloaded = invoke(*common).json(), invoke(*common, "--max-memory", "cpu=1MiB").json()
    assert whole["model"]["kind"] == "cross-encoder" and offloaded["memory"]["runs"][0]["placement"] == "offload"
    figures = ("status", "spearman", "max_abs_diff", "top1_agreement")
    assert [[r[k] for k in figures] for r in offloaded["results"]] == [[r[k] for k in figures] for r in whole["results"]]
