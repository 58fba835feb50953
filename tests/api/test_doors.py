"""Every door checks alike: one table of bad values, refused by the command line (in every mode),
the config, precheck.scan, precheck.load (with a plan in the folder or not) and a plan file.

Then bad input through the Python API's doors that take objects and plan files (issue 32, item 7): an object
whose tensors hold no values, an object where a name is expected, a quantized precision asked of an object,
and a precheck.json whose strategy or module lists do not belong to its precision. Each is one PrecheckError
line, before anything runs or is written; never a traceback, never a model in another precision."""
from __future__ import annotations

import json
import shutil

import pytest

import precheck
from cli_checks import assert_one_line_error, tree
from conftest import invoke
from precheck.errors import PrecheckError
from precheck.options import LoadOptions, option_of
from precheck.data.plan import Plan

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


# --- bad input through the doors that take objects and plan files

def refused(call, *needles: str) -> str:
    """The call raises PrecheckError (no other exception), and its line holds the needles."""
    with pytest.raises(PrecheckError) as info:
        call()
    line = info.value.one_line()
    assert "\n" not in line
    for needle in needles:
        assert needle in line, line
    return line


@pytest.fixture(scope="module")
def st_object(tiny_model):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_model), device="cpu")


# --- objects


def test_an_object_on_the_meta_device_is_refused_in_one_line(tiny_model):
    from sentence_transformers import SentenceTransformer

    empty = SentenceTransformer(str(tiny_model), device="cpu").to("meta")
    for call in (lambda: precheck.scan(empty, dtypes="fp16"), lambda: precheck.fix(empty, "fp16")):
        refused(call, "on the meta device", "hold no values", "name or folder")


def test_precheck_load_of_an_object_says_it_takes_a_name_and_what_to_do(st_object):
    refused(lambda: precheck.load(st_object), "precheck.load takes a model's name or folder",
            "in-memory SentenceTransformer", "precheck.fix(model, dtype)", "model.save(FOLDER)")


@pytest.mark.parametrize("door", ["scan", "fix", "callback"])
def test_a_quantized_precision_asked_of_an_object_is_refused_up_front_naming_the_save(st_object, door):
    from precheck.integrations import PrecheckCallback

    call = {"scan": lambda: precheck.scan(st_object, dtypes=["fp16", "nf4"]),
            "fix": lambda: precheck.fix(st_object, "int8"),
            "callback": lambda: PrecheckCallback(dtypes=["int8wo"])}[door]
    line = refused(call, "asked of an in-memory model", "quantizes a model only as it loads it",
                   "model.save(FOLDER)")
    assert "no verified way" not in line  # the model is not to blame


def test_an_object_is_left_as_it_was_after_a_refusal(st_object):
    before = {name: t.clone() for name, t in st_object.state_dict().items()}
    refused(lambda: precheck.scan(st_object, dtypes="nf4"))
    assert all(t.equal(before[name]) for name, t in st_object.state_dict().items())


# --- plan files


def _folder_with_plan(tiny_model, folder, plan: dict):
    shutil.copytree(tiny_model, folder)
    (folder / "precheck.json").write_text(json.dumps({"schema": "precheck.plan/1", **plan}), encoding="utf-8")
    return folder


PLANS = [
    ({"dtype": "int8", "strategy": "cast"}, "int8", "strategy 'cast' is not a fix for int8"),
    ({"dtype": "int8", "strategy": "autocast"}, "int8", "strategy 'autocast' is not a fix for int8"),
    ({"dtype": "int8", "strategy": "int8"}, "int8", "switches int8 to itself"),
    ({"dtype": "float16", "strategy": "nf4"}, "fp16", "strategy 'nf4' is not a fix for float16"),
    ({"dtype": "int8", "strategy": "keep-fp32", "keep_fp32": ["0.auto_model.encoder"]}, "int8",
     "strategy 'keep-fp32' is not a fix for int8"),
    ({"dtype": "float16", "strategy": "keep-unquantized", "keep_unquantized": ["encoder"]}, "fp16",
     "strategy 'keep-unquantized' is not a fix for float16"),
    ({"dtype": "nf4", "strategy": "bf16-compute"}, "nf4", "'bf16-compute' is for 4-bit weights computing in float16"),
    ({"dtype": "int8", "strategy": "bf16-compute"}, "int8", "'bf16-compute' is for 4-bit weights computing in float16"),
    ({"dtype": "float16", "strategy": "bf16-compute"}, "fp16", "strategy 'bf16-compute' is not a fix for float16"),
    ({"dtype": "float16", "strategy": "fp16"}, "fp16", "switches float16 to itself"),
    ({"dtype": "float16", "strategy": "cast", "keep_unquantized": ["encoder"]}, "fp16",
     "keep_unquantized is for strategy 'keep-unquantized'"),
    ({"dtype": "nf4", "strategy": "load", "keep_fp32": ["encoder"]}, "nf4", "keep_fp32 is for strategy 'keep-fp32'"),
    ({"dtype": "int8", "strategy": "keep-unquantized"}, "int8", "empty keep_unquantized"),
]


@pytest.mark.parametrize("plan, asked, needle", PLANS, ids=[f"{p['dtype']}-{p['strategy']}" + ("-lists" if len(p) > 2
                                                                                                 else "")
                                                               for p, _, _ in PLANS])
def test_a_plan_whose_strategy_does_not_belong_to_its_precision_is_refused(tiny_model, tmp_path, plan, asked,
                                                                              needle):
    folder = _folder_with_plan(tiny_model, tmp_path / "model", plan)
    before = tree(tmp_path)
    refused(lambda: precheck.load(str(folder), dtype=asked, scan=False), "precheck.json is not a precheck plan for",
            needle, "rerun precheck fix")
    assert tree(tmp_path) == before


def test_a_plan_for_another_precision_that_is_malformed_is_refused_all_the_same(tiny_model, tmp_path):
    # Read before precheck.load decides whether it is the plan asked for: a broken document is never half-used.
    folder = _folder_with_plan(tiny_model, tmp_path / "model", {"dtype": "int8", "strategy": "cast"})
    refused(lambda: precheck.load(str(folder), dtype="fp16", scan=False), "not a fix for int8")


def test_a_quantized_plan_that_switches_to_a_smaller_passing_precision_loads_that_precision(tiny_model, tmp_path):
    # The switch precheck's own search may recommend (docs/quantization.md): the load says what it gives.
    import torch

    folder = _folder_with_plan(tiny_model, tmp_path / "model", {"dtype": "int8", "strategy": "fp16"})
    model = precheck.load(str(folder), dtype="int8", scan=False)
    assert {p.dtype for p in model.parameters()} == {torch.float16}


def test_a_keep_unquantized_module_the_model_lacks_is_refused_not_quantized_away(tiny_model, tmp_path):
    folder = _folder_with_plan(tiny_model, tmp_path / "model",
                               {"dtype": "int8", "strategy": "keep-unquantized", "keep_unquantized": ["no.such"]})
    refused(lambda: precheck.load(str(folder), dtype="int8", scan=False),
            "keep_unquantized names 'no.such', which this model does not have")


def test_a_keep_unquantized_plan_naming_a_real_module_loads_it_unquantized(tiny_model, tmp_path):
    import torch

    folder = _folder_with_plan(tiny_model, tmp_path / "model", {"dtype": "int8", "strategy": "keep-unquantized",
                                                                "keep_unquantized": ["encoder.layer.1"]})
    model = precheck.load(str(folder), dtype="int8", scan=False)
    kinds = {name: type(m).__name__ for name, m in model.named_modules()
             if name.endswith(("intermediate.dense", "output.dense")) and "attention" not in name}
    assert {k: v for k, v in kinds.items() if "layer.1." in k} == {
        k: "Linear" for k in kinds if "layer.1." in k}
    assert "Linear8bitLt" in {v for k, v in kinds.items() if "layer.0." in k}
    assert all(p.dtype != torch.int8 for n, p in model.named_parameters() if "layer.1." in n)
