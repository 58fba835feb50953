"""Each rule written once (issue 33, item 3): the options table says which options affect a run's
results and which are gated, and the run identity, merge's one-run checks, the ci schema's required
keys and the baseline's figures are derived from it; every door resolves its values through one
resolver; a refused option is an OptionRefused that carries its name."""
from __future__ import annotations

import pytest

from conftest import invoke

# What these lists were, written by hand, before they were derived: the reports stay byte-identical.
RUN_BLOCK_KEYS = ["name", "kind", "dtypes", "min_cosine", "min_spearman", "min_top1_agreement", "probe", "fix",
                  "device", "trust_remote_code", "load", "storage", "min_recall", "rescore_multiplier",
                  "rescore_with", "gates", "max_metric_drop"]
SCHEMA_REQUIRED = ["name", "kind", "dtypes", "min_cosine", "min_spearman", "min_top1_agreement", "probe", "fix",
                   "device", "trust_remote_code", "load", "storage", "min_recall", "rescore_multiplier",
                   "rescore_with", "gates"]
BASELINE_FIGURES = {"min_cosine": 1e-4, "top1_agreement": 0.05, "spearman": 0.005, "eval_metric": 0.01}
PROBE_FIGURES = ("min_cosine", "top1_agreement", "spearman")
REPORT_SETTINGS_CHECKED = ("dtypes", "min_cosine", "min_spearman", "min_top1_agreement")
STORAGE_CHECKED = (("precisions", "storage"), ("min_recall", "min_recall"),
                   ("rescore_multiplier", "rescore_multiplier"), ("rescore_with", "rescore_with"))


def _model_config(**values):
    from precheck.gate.config import ModelConfig

    return ModelConfig(name="m", **values)


def test_the_run_block_records_what_it_recorded_before_in_the_same_order():
    from precheck.gate.run_identity import model_settings

    assert list(model_settings(_model_config())) == RUN_BLOCK_KEYS


def test_the_run_block_of_a_default_model_is_unchanged():
    from precheck.gate.run_identity import model_settings

    assert model_settings(_model_config()) == {
        "name": "m", "kind": "auto", "dtypes": ["float16", "bfloat16"], "min_cosine": 0.999, "min_spearman": 0.99,
        "min_top1_agreement": 0.0, "probe": "builtin", "fix": True, "device": "auto", "trust_remote_code": False,
        "load": {}, "storage": [], "min_recall": 0.8, "rescore_multiplier": 2, "rescore_with": "quantized",
        "gates": {}, "max_metric_drop": 0.01}


def test_a_refused_run_names_the_settings_in_the_run_blocks_order():
    from precheck.gate.run_identity import SETTINGS

    assert list(SETTINGS) == RUN_BLOCK_KEYS[1:]


def test_the_ci_schema_requires_the_keys_it_required_before():
    from precheck.data.schema.ci import CI_RUN

    models = CI_RUN["properties"]["models"]["items"]
    assert models["required"] == SCHEMA_REQUIRED
    assert list(models["properties"]) == RUN_BLOCK_KEYS


def test_the_baseline_records_and_tolerates_the_figures_it_did_before():
    from precheck.gate.baseline import FIGURES, PROBE_FIGURES as probe
    from precheck.gate.merge import _REGRESSION_FIGURES

    assert FIGURES == BASELINE_FIGURES and list(FIGURES) == list(BASELINE_FIGURES)
    assert probe == PROBE_FIGURES
    assert _REGRESSION_FIGURES == tuple(BASELINE_FIGURES)


def test_merge_checks_the_report_settings_it_checked_before():
    from precheck.gate.one_run import REPORT_SETTINGS, STORAGE_SETTINGS

    assert REPORT_SETTINGS == REPORT_SETTINGS_CHECKED
    assert STORAGE_SETTINGS == STORAGE_CHECKED


def test_every_option_that_affects_the_results_is_in_the_run_block():
    from precheck.data.schema.ci import CI_RUN
    from precheck.options import scan_fields

    recorded = {how.run_key for _, how in scan_fields() if how.run_key}
    assert recorded == set(CI_RUN["properties"]["models"]["items"]["properties"]) - {"name"}


# --- one resolver, typed refusals


@pytest.mark.parametrize("door, raw, option", [
    ("keywords", {"min_cosine": 5}, "min_cosine"),
    ("keywords", {"no_such_option": 1}, "no_such_option"),
    ("keywords", {"prompt": "a", "prompt_name": "b"}, "prompt"),
    ("command line", {"batch_size": 0}, "batch_size"),
    ("command line", {"rescore_with": "original"}, "rescore_with"),
    ("config", {"dtypes": "fp16"}, "dtypes"),
    ("config", {"bogus": 1}, "bogus"),
    ("plan", {"dtype": "x"}, "dtype"),
    ("plan", {"max_seq_length": 0}, "max_seq_length"),
])
def test_a_refused_option_carries_its_name_whatever_the_door(door, raw, option):
    from precheck.errors import OptionRefused
    from precheck.resolve import COMMAND_LINE, KEYWORDS, config_table, plan_file, resolve

    doors = {"keywords": KEYWORDS, "command line": COMMAND_LINE, "config": config_table("tool.precheck.defaults"),
             "plan": plan_file("m/precheck.json")}
    with pytest.raises(OptionRefused) as refused:
        resolve(raw, doors[door])
    assert refused.value.option == option


def test_each_door_names_a_refused_option_its_own_way():
    from precheck.errors import OptionRefused
    from precheck.resolve import COMMAND_LINE, KEYWORDS, config_table, resolve

    said = {}
    for name, door in (("cli", COMMAND_LINE), ("api", KEYWORDS), ("config", config_table("tool.precheck.defaults"))):
        with pytest.raises(OptionRefused) as refused:
            resolve({"min_cosine": 5}, door)
        said[name] = refused.value.message
    assert said == {"cli": "--min-cosine must be in (0, 1], got 5.0", "api": "min_cosine must be in (0, 1], got 5.0",
                    "config": "tool.precheck.defaults.min_cosine must be in (0, 1], got 5.0"}


def test_a_no_flag_on_the_command_line_turns_its_option_off_and_the_same_key_elsewhere_is_the_value():
    from precheck.resolve import COMMAND_LINE, KEYWORDS, config_table, resolve

    assert resolve({"fix": True, "cache": False}, COMMAND_LINE) == {"fix": False}
    assert resolve({"fix": False, "cache": True}, KEYWORDS) == {"fix": False, "cache": True}
    assert resolve({"fix": False}, config_table("t")) == {"fix": False}


def test_an_option_refused_on_the_command_line_exits_2_in_one_line():
    run = invoke("ci", "--batch-size", "0")
    assert run.exit_code == 2 and run.stderr.strip() == "precheck: error: --batch-size must be at least 1, got 0"


def test_the_error_boundary_maps_errors_by_type():
    from precheck.cli._errors import EXIT_CANNOT_RUN, exit_code_of
    from precheck.errors import ConfigNotFound, OptionRefused, PrecheckError

    assert {exit_code_of(e) for e in (PrecheckError("x"), OptionRefused("x", option="y"), ConfigNotFound("x"))} \
        == {EXIT_CANNOT_RUN}


def test_fix_and_train_check_take_the_tables_dtype_option_as_one_precision():
    from precheck.errors import OptionRefused
    from precheck.options import option_of
    from precheck.resolve import HALF_DTYPE_LINE, ONE_DTYPE_LINE, resolve
    from cli_checks import command_flags

    assert set(option_of("dtypes").flags) <= command_flags("fix") & command_flags("train-check")
    assert resolve({"dtypes": "bf16"}, ONE_DTYPE_LINE) == {"dtypes": ("bfloat16",)}
    for door, value in ((ONE_DTYPE_LINE, "fp16,bf16"), (HALF_DTYPE_LINE, "nf4")):
        with pytest.raises(OptionRefused) as refused:
            resolve({"dtypes": value}, door)
        assert refused.value.option == "dtypes"
