"""Options come from one table (precheck/options.py) and are checked the same way in every mode,
before anything else: on the command line of scan, fix and ci, and in [tool.precheck]."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from cli_checks import assert_one_line_error, command_flags
from conftest import invoke


def test_every_option_of_the_table_is_in_scan_fix_ci_and_the_config():
    from precheck.gate.config import DEFAULT_KEYS, MODEL_KEYS
    from precheck.options import scan_fields

    scan, fix, ci = command_flags("scan"), command_flags("fix"), command_flags("ci")
    for field, how in scan_fields():
        flag = how.flags[0]
        assert flag in scan, flag
        # fix has its own --dtype, always fixes, and leaves out what the table says it does not take
        if field.name not in ("dtypes", "fix"):
            assert (flag in fix) == how.fix_takes, flag
        assert (flag in ci) == how.ci_flag, flag
        key = how.config_key or field.name
        assert key in MODEL_KEYS and key in DEFAULT_KEYS, key


def test_ci_takes_batch_size_and_depth_on_its_command_line_and_in_the_config():
    from precheck.gate.config import MODEL_KEYS

    assert {"--batch-size", "--depth"} <= command_flags("ci")
    assert {"batch_size", "depth"} <= set(MODEL_KEYS)


def test_ci_checks_its_options_before_looking_for_a_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no config here: the option is what is wrong first
    assert_one_line_error(invoke("ci", "--batch-size", "0"), "--batch-size must be at least 1")


def _config(folder, model, extra: str = "", defaults: str = ""):
    path = folder / "precheck.toml"
    path.write_text(f'[defaults]\ndtypes = ["fp16"]\n{defaults}\n[[models]]\nname = "{model}"\n{extra}',
                    encoding="utf-8")
    return path


def _empty_shard(model) -> str:
    from precheck.gate.shard import shard_of

    return f"{3 - shard_of(str(model), 2)}/2"


@dataclass
class Row:
    id: str
    args: object  # (workdir, model) -> argv
    needle: str


ROWS = [
    Row("scan-plan-only-max-memory-garbage", lambda w, m: ["scan", m, "--plan-only", "--max-memory", "garbage"],
        "--max-memory: 'garbage' is not DEVICE=SIZE"),
    Row("scan-plan-only-reference-device-unknown",
        lambda w, m: ["scan", m, "--plan-only", "--reference-device", "zzz"], "--reference-device: unknown device"),
    Row("scan-plan-only-min-cosine-5", lambda w, m: ["scan", m, "--plan-only", "--min-cosine", "5"],
        "--min-cosine must be in (0, 1]"),
    Row("scan-plan-only-batch-size-0", lambda w, m: ["scan", m, "--plan-only", "--batch-size", "0"],
        "--batch-size must be at least 1"),
    Row("scan-cpu-max-memory-names-cuda", lambda w, m: ["scan", m, "--device", "cpu", "--max-memory", "cuda=1GiB"],
        "names cuda, but the run is on cpu"),
    Row("scan-model-kwarg-torch-dtype", lambda w, m: ["scan", m, "--model-kwarg", "torch_dtype=float16"],
        "--model-kwarg cannot set torch_dtype"),
    Row("scan-model-kwarg-dtype", lambda w, m: ["scan", m, "--model-kwarg", "dtype=bfloat16"],
        "--model-kwarg cannot set dtype"),
    Row("scan-config-kwarg-without-value", lambda w, m: ["scan", m, "--config-kwarg", "unpad_inputs"],
        "is not KEY=VALUE"),
    Row("scan-config-kwarg-twice", lambda w, m: ["scan", m, "--config-kwarg", "a=1", "--config-kwarg", "a=2"],
        "a is given twice"),
    Row("scan-attn-implementation-unknown", lambda w, m: ["scan", m, "--attn-implementation", "flash"],
        "unknown attention implementation"),
    Row("scan-prompt-and-prompt-name", lambda w, m: ["scan", m, "--prompt", "q: ", "--prompt-name", "query"],
        "both given"),
    Row("scan-truncate-dim-0", lambda w, m: ["scan", m, "--truncate-dim", "0"], "--truncate-dim must be at least 1"),
    Row("scan-max-seq-length-negative", lambda w, m: ["scan", m, "--max-seq-length", "-3"],
        "--max-seq-length must be at least 1"),
    Row("fix-model-kwarg-torch-dtype", lambda w, m: ["fix", m, "--out", w / "out", "--model-kwarg", "torch_dtype=x"],
        "cannot set torch_dtype"),
    Row("ci-empty-shard-max-memory-garbage",
        lambda w, m: ["ci", "--config", _config(w, m), "--shard", _empty_shard(m), "--max-memory", "garbage"],
        "--max-memory: 'garbage' is not DEVICE=SIZE"),
    Row("ci-empty-shard-reference-device-unknown",
        lambda w, m: ["ci", "--config", _config(w, m), "--shard", _empty_shard(m), "--reference-device", "zzz"],
        "--reference-device: unknown device"),
    Row("ci-empty-shard-config-min-cosine-5",
        lambda w, m: ["ci", "--config", _config(w, m, "min_cosine = 5\n"), "--shard", _empty_shard(m)],
        "precheck.toml.models[0].min_cosine must be in (0, 1]"),
    Row("ci-plan-only-update-baseline", lambda w, m: ["ci", "--config", _config(w, m), "--plan-only",
                                                      "--update-baseline"], "--update-baseline with --plan-only"),
    Row("ci-config-model-kwargs-torch-dtype",
        lambda w, m: ["ci", "--config", _config(w, m, 'model_kwargs = { torch_dtype = "float16" }\n')],
        "precheck.toml.models[0].model_kwargs cannot set torch_dtype"),
    Row("ci-config-config-kwargs-not-a-table",
        lambda w, m: ["ci", "--config", _config(w, m, "config_kwargs = 5\n")], "config_kwargs should be a table"),
    Row("ci-config-batch-size-0", lambda w, m: ["ci", "--config", _config(w, m, defaults="batch_size = 0\n")],
        "precheck.toml.defaults.batch_size must be at least 1"),
    Row("ci-config-depth-a-string", lambda w, m: ["ci", "--config", _config(w, m, 'depth = "deep"\n')],
        "depth should be an integer"),
    Row("ci-config-attn-implementation-unknown",
        lambda w, m: ["ci", "--config", _config(w, m, 'attn_implementation = "fast"\n')],
        "unknown attention implementation"),
    Row("ci-config-reference-device-unknown",
        lambda w, m: ["ci", "--config", _config(w, m, 'reference_device = "tpu"\n'), "--plan-only"],
        "reference_device: unknown device"),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_a_bad_option_value_is_one_line_and_exit_2_in_every_mode(row, tmp_path, plain_model):
    assert_one_line_error(invoke(*row.args(tmp_path, plain_model)), row.needle)


def test_reference_device_takes_any_case_as_device_does(plain_model):
    run = invoke("scan", plain_model, "--plan-only", "--device", "CPU", "--reference-device", "CPU", "--json", "-")
    assert run.exit_code == 0, run.stderr
    assert run.json()["memory"]["runs"][0]["placement"] == "cpu"


def test_max_memory_naming_another_device_is_refused_once_auto_is_resolved(plain_model):
    import torch

    if torch.cuda.is_available():
        pytest.skip("auto resolves to cuda here")
    assert_one_line_error(invoke("scan", plain_model, "--plan-only", "--max-memory", "cuda=1GiB"),
                          "--max-memory names cuda, but the run is on cpu")


def test_an_empty_ci_shard_refuses_a_budget_for_a_device_auto_does_not_resolve_to(tmp_path, plain_model):
    # The shard scans nothing, so no plan ever resolves the device: the check resolves it itself.
    import torch

    if torch.cuda.is_available():
        pytest.skip("auto resolves to cuda here")
    config = _config(tmp_path, plain_model)
    assert_one_line_error(invoke("ci", "--config", config, "--shard", _empty_shard(plain_model),
                                 "--max-memory", "cuda=1GiB"), "--max-memory names cuda, but the run is on cpu")


def test_the_python_api_checks_options_as_the_cli_does(plain_model):
    import precheck

    with pytest.raises(precheck.PrecheckError, match="min_cosine must be in"):
        precheck.scan(str(plain_model), min_cosine=5)


def test_every_option_of_the_table_is_documented():
    from pathlib import Path

    from precheck.options import scan_fields

    root = Path(__file__).resolve().parents[2]
    usage, ci = (root / "docs" / "usage.md").read_text(), (root / "docs" / "ci.md").read_text()
    for field, how in scan_fields():
        assert f"`{how.flags[0]}" in usage, how.flags[0]
        assert f"`{how.config_key or field.name}`" in ci, field.name
