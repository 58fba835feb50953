"""Every door checks alike: one table of bad values, refused by the command line (in every mode),
the config, precheck.scan, precheck.load (with a plan in the folder or not) and a plan file."""
from __future__ import annotations

import json
import shutil

import pytest

import precheck
from conftest import invoke
from precheck.options import LoadOptions, option_of
from precheck.data.plan import Plan
from test_bad_input import assert_one_line_error

BAD_VALUES = [
    ("max_seq_length", -5),
    ("model_kwargs", {"dtype": "float32"}),
    ("model_kwargs", {"torch_dtype": "float16"}),
    ("batch_size", 0),
    ("min_cosine", 1.5),
    ("attn_implementation", "bogus"),
    ("truncate_dim", 0),
    ("max_memory", ","),
    ("device", "tpu"),
    ("revision", " "),
    ("prompt_name", ""),
]
IDS = [f"{name}={value!r}" for name, value in BAD_VALUES]
LOAD_FIELDS = set(LoadOptions.__dataclass_fields__) - {"trust_remote_code"}


def _cli_args(name: str, value) -> list[str]:
    flag = option_of(name).flags[0]
    if isinstance(value, dict):
        return [part for key, item in value.items() for part in (flag, f"{key}={json.dumps(item)}")]
    return [flag, str(value)]


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _config_key(name: str) -> str:
    return option_of(name).config_key or name


@pytest.fixture(scope="module")
def planned_folder(tiny_model, tmp_path_factory):
    """The tiny model with a verified-looking plan for float16 (strategy load)."""
    folder = tmp_path_factory.mktemp("planned") / "tiny"
    shutil.copytree(tiny_model, folder)
    (folder / "precheck.json").write_text(json.dumps(Plan("float16", "load").to_dict()), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=IDS)
def test_the_command_line_refuses_it_even_with_plan_only(tiny_model, name, value):
    run = invoke("scan", tiny_model, "--plan-only", *_cli_args(name, value))
    assert run.exit_code == 2
    assert_one_line_error(run)


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=IDS)
def test_the_config_refuses_it_before_any_work(tiny_model, tmp_path, name, value):
    (tmp_path / "precheck.toml").write_text(
        f'[[models]]\nname = "{tiny_model}"\n{_config_key(name)} = {_toml(value)}\n', encoding="utf-8")
    run = invoke("ci", "--config", tmp_path / "precheck.toml", "--plan-only")
    assert run.exit_code == 2
    assert_one_line_error(run)
    assert f"models[0].{_config_key(name)}" in run.stderr


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=IDS)
def test_precheck_scan_refuses_it(tiny_model, name, value):
    with pytest.raises(precheck.PrecheckError):
        precheck.scan(str(tiny_model), dtypes="fp16", **{name: value})


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=IDS)
def test_precheck_load_refuses_it_with_a_plan_in_the_folder(planned_folder, name, value):
    with pytest.raises(precheck.PrecheckError):
        precheck.load(str(planned_folder), "fp16", **{name: value})


@pytest.mark.parametrize(("name", "value"), [row for row in BAD_VALUES if row[0] in LOAD_FIELDS],
                         ids=[i for i, row in zip(IDS, BAD_VALUES) if row[0] in LOAD_FIELDS])
def test_a_plan_files_load_options_are_refused_alike(planned_folder, tmp_path, name, value):
    folder = tmp_path / "tiny"
    shutil.copytree(planned_folder, folder)
    plan = Plan("float16", "load", load={name: value}).to_dict()
    (folder / "precheck.json").write_text(json.dumps(plan), encoding="utf-8")
    with pytest.raises(precheck.PrecheckError, match="precheck.json"):
        precheck.load(str(folder), "fp16")


def test_an_unknown_keyword_is_refused_by_name(planned_folder):
    with pytest.raises(precheck.PrecheckError, match="max_seq_len: unknown option"):
        precheck.load(str(planned_folder), "fp16", max_seq_len=12)


@pytest.mark.parametrize("call", [
    lambda m: precheck.scan(None),
    lambda m: precheck.scan(m, dtypes=None),
    lambda m: precheck.scan(m, dtypes=[]),
    lambda m: precheck.load(m, dtype=None),
    lambda m: precheck.load(m, dtype="fp16,bf16"),
], ids=["scan-None", "scan-dtypes-None", "scan-dtypes-empty", "load-dtype-None", "load-two-dtypes"])
def test_missing_or_wrong_shaped_arguments_are_one_clear_error(tiny_model, call):
    with pytest.raises(precheck.PrecheckError):
        call(str(tiny_model))


def test_a_string_of_dtypes_is_one_dtype_not_its_letters(tiny_model):
    report = precheck.scan(str(tiny_model), dtypes="fp16", fix=False)
    assert report.settings.dtypes == ["float16"]


@pytest.mark.parametrize(("repair", "says"), [
    ({"": ["no_such_buffer"]}, "not a buffer"),
    ({"no.such.module": ["position_ids"]}, "does not have"),
    ({"": ["embeddings.word_embeddings.weight"]}, "not a buffer"),
    ({"1": ["anything"]}, "not a buffer"),  # module 1 is Pooling: no buffers at all
], ids=["missing-buffer", "missing-module", "a-parameter", "module-without-buffers"])
def test_a_plans_repair_buffers_naming_something_else_is_refused(planned_folder, tmp_path, repair, says):
    folder = tmp_path / "tiny"
    shutil.copytree(planned_folder, folder)
    plan = Plan("float16", "load", repair_buffers=repair).to_dict()
    (folder / "precheck.json").write_text(json.dumps(plan), encoding="utf-8")
    with pytest.raises(precheck.PrecheckError, match=says):
        precheck.load(str(folder), "fp16")
