"""Load options (issue 21 §3): each reaches the model precheck loads, is recorded in the report,
carried into the snippets and into `precheck fix`'s precheck.json, and works from the config.

On a tiny random MPNet (another architecture than the BERT fixtures) with a `query` prompt.
"""
from __future__ import annotations

import json

import pytest
import torch

import load_option_models
import scale_models
from cli_checks import assert_one_line_error
from conftest import invoke, scan_json


@pytest.fixture(scope="session")
def mpnet_model(models_dir):
    return load_option_models.build_tiny_mpnet(models_dir / "tiny-mpnet")


@pytest.fixture(scope="session")
def tiny_bert(models_dir):
    return scale_models.build_tiny_model(models_dir / "tiny-bert-load-options")


def scan_report(model, probe_file, *extra) -> dict:
    run, report = scan_json(model, probe_file, "-d", "fp16", "--no-fix", *extra)
    assert run.exit_code in (0, 1), run.stderr
    return report


def reference(model, texts_file, **load) -> torch.Tensor:
    """The float32 reference outputs a scan compares against, with these options."""
    from precheck.engine.scanner import ScanOptions, start_session

    session, _ = start_session(ScanOptions(model=str(model), dtypes=("float16",), device="cpu",
                                           texts_file=texts_file, fix=False, **load))
    return session.reference


def loaded(model, **load):
    from precheck.loading.load import load_model
    from precheck.loading.resolve import resolve_model
    from precheck.options import LoadOptions

    return load_model(resolve_model(str(model)), "cpu", None, LoadOptions(**load))


def test_scan_config_kwarg_changes_the_loaded_model(mpnet_model, probe_file):
    report = scan_report(mpnet_model, probe_file, "--config-kwarg", "num_hidden_layers=1", "--depth", "6")
    paths = [row["path"] for row in report["modules"]["float32"]]
    assert any(p.endswith("encoder.layer.0") for p in paths)
    assert not any(p.endswith("encoder.layer.1") for p in paths)
    assert report["settings"]["load"] == {"config_kwargs": {"num_hidden_layers": 1}}


def test_scan_truncate_dim_is_the_reported_dimension(mpnet_model, probe_file):
    full = scan_report(mpnet_model, probe_file)
    truncated = scan_report(mpnet_model, probe_file, "--truncate-dim", "16")
    assert full["reference"]["dimension"] == load_option_models.HIDDEN
    assert truncated["reference"]["dimension"] == 16
    assert truncated["settings"]["load"] == {"truncate_dim": 16}


def test_scan_max_seq_length_truncates_the_inputs(mpnet_model, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("the quick brown fox jumps\nthe quick red dog sleeps\n", encoding="utf-8")
    # [CLS] the quick [SEP]: both texts are the same four tokens once truncated.
    short = reference(mpnet_model, texts, max_seq_length=4)
    whole = reference(mpnet_model, texts)
    assert torch.allclose(short[0], short[1])
    assert not torch.allclose(whole[0], whole[1])


def test_scan_prompt_and_prompt_name_change_the_embeddings(mpnet_model, probe_file):
    plain = reference(mpnet_model, probe_file)
    prompted = reference(mpnet_model, probe_file, prompt=load_option_models.QUERY_PROMPT)
    named = reference(mpnet_model, probe_file, prompt_name="query")
    assert not torch.allclose(plain, prompted)
    assert torch.allclose(prompted, named)


def test_scan_prompt_name_the_model_lacks_is_one_line(mpnet_model, probe_file):
    run = invoke("scan", mpnet_model, "--texts", probe_file, "--prompt-name", "passage", "--no-fix")
    assert_one_line_error(run, "--prompt-name 'passage'", "query")


def test_scan_revision_of_a_local_folder_is_one_line(mpnet_model):
    assert_one_line_error(invoke("scan", mpnet_model, "--revision", "v1.0"), "--revision v1.0", "local folder")


def test_scan_revision_of_an_uncached_hub_id_names_the_revision():
    assert_one_line_error(invoke("scan", "someone/never-downloaded", "--revision", "abc123"),
                          "someone/never-downloaded at revision abc123", "HF_HUB_OFFLINE")


def test_tokenizer_kwarg_reaches_the_tokenizer(mpnet_model):
    assert loaded(mpnet_model, tokenizer_kwargs={"model_max_length": 77}).tokenizer.model_max_length == 77


def test_model_kwarg_and_attn_implementation_reach_the_transformers_model(tiny_bert):
    default = loaded(tiny_bert)[0].auto_model.config._attn_implementation
    if default == "eager":
        pytest.skip("this transformers loads BERT with eager attention already")
    assert loaded(tiny_bert, model_kwargs={"attn_implementation": "eager"})[0].auto_model.config._attn_implementation \
        == "eager"
    assert loaded(tiny_bert, attn_implementation="eager")[0].auto_model.config._attn_implementation == "eager"


def test_snippets_load_as_the_scan_did(mpnet_model):
    from precheck.kinds import Embedder
    from precheck.options import LoadOptions
    from precheck.data.plan import Plan
    from precheck.repair.plans import snippets

    load = LoadOptions(config_kwargs={"num_hidden_layers": 1}, max_seq_length=8, prompt_name="query")
    for strategy in ("load", "cast", "autocast", "keep-fp32", "bf16"):
        plain, with_precheck = snippets(Plan("float16", strategy, ["0"]), str(mpnet_model), "cpu", False, Embedder(),
                                        load)
        compile(plain, strategy, "exec")
        assert "config_kwargs={'num_hidden_layers': 1}" in plain and "model.max_seq_length = 8" in plain
        assert "prompt_name='query'" in plain and "prompt_name='query'" in with_precheck
        assert "config_kwargs={'num_hidden_layers': 1}" in with_precheck
    namespace: dict = {}
    exec(snippets(Plan("float16", "cast"), str(mpnet_model), "cpu", False, Embedder(), load)[0], namespace)
    model = namespace["model"]
    assert len(model[0].auto_model.encoder.layer) == 1 and model.max_seq_length == 8
    assert namespace["embeddings"].shape == (1, load_option_models.HIDDEN)


def test_fix_writes_the_load_options_and_precheck_load_reproduces_them(mpnet_model, probe_file, tmp_path):
    import precheck

    out = tmp_path / "fixed"
    run = invoke("fix", mpnet_model, "--out", out, "-d", "bf16", "--texts", probe_file, "--min-cosine", "0.9",
                 "--config-kwarg", "num_hidden_layers=1", "--max-seq-length", "16", "--quiet")
    assert run.exit_code == 0, run.stderr
    plan = json.loads((out / "precheck.json").read_text())
    assert plan["load"] == {"config_kwargs": {"num_hidden_layers": 1}, "max_seq_length": 16}
    model = precheck.load(str(out), dtype="bf16", device="cpu")
    assert len(model[0].auto_model.encoder.layer) == 1 and model.max_seq_length == 16


def test_ci_config_takes_the_load_keys_and_batch_size_and_depth_per_model(mpnet_model, probe_file, tmp_path):
    config = tmp_path / "precheck.toml"
    config.write_text(
        '[defaults]\ndtypes = ["fp16"]\nfix = false\nbatch_size = 2\ndepth = 6\n\n'
        f'[[models]]\nname = "{mpnet_model}"\ntexts = "{probe_file}"\n'
        'config_kwargs = { num_hidden_layers = 1 }\ntruncate_dim = 16\nprompt_name = "query"\n',
        encoding="utf-8")
    run = invoke("ci", "--config", config, "--json", "-", "--quiet")
    assert run.exit_code in (0, 1), run.stderr
    report = run.json()["models"][0]["report"]
    assert report["settings"]["batch_size"] == 2 and report["settings"]["depth"] == 6
    assert report["settings"]["load"] == {"config_kwargs": {"num_hidden_layers": 1}, "prompt_name": "query",
                                          "truncate_dim": 16}
    assert report["reference"]["dimension"] == 16
    assert not any(row["path"].endswith("encoder.layer.1") for row in report["modules"]["float32"])


def test_max_seq_length_reaches_a_cross_encoder_as_its_max_length(models_dir):
    from precheck.kinds import cross_encoder_max_length

    reranker = scale_models.build_tiny_cross_encoder(models_dir / "tiny-reranker-load-options")
    assert cross_encoder_max_length(loaded(reranker, max_seq_length=8)) == 8


def test_scan_revision_takes_that_revision_from_the_hub_cache(mpnet_model, probe_file, hf_home):
    import shutil

    repo = hf_home / "hub" / "models--someone--tiny-mpnet"
    commits = {"main": "a" * 40, "v2": "b" * 40}
    for ref, commit in commits.items():
        shutil.copytree(mpnet_model, repo / "snapshots" / commit, dirs_exist_ok=True)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
    report = scan_report("someone/tiny-mpnet", probe_file, "--revision", "v2")
    assert report["model"]["source"] == "cache"
    assert report["model"]["path"].endswith(commits["v2"])
    assert report["settings"]["load"] == {"revision": "v2"}


def test_the_report_names_the_attention_kernel_the_reference_ran(tiny_bert, probe_file):
    # The kernel the installed transformers picks by default, and the one --attn-implementation asks for.
    default = loaded(tiny_bert)[0].auto_model.config._attn_implementation
    assert scan_report(tiny_bert, probe_file)["model"]["attention"] == default
    assert scan_report(tiny_bert, probe_file, "--attn-implementation", "eager")["model"]["attention"] == "eager"


# --- a load option past what the model has is named with the option and the model's limit

def test_max_seq_length_past_the_positions_is_refused_before_loading(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "-q", "--max-seq-length", "100000")
    assert_one_line_error(run, "--max-seq-length 100000", "128 positions")
    assert "loading float32 reference" not in run.stderr


def test_truncate_dim_past_the_dimension_is_refused(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "-q", "--truncate-dim", "1000")
    assert_one_line_error(run, "--truncate-dim 1000", "dimension (32)")


def test_a_tokenizer_length_that_is_no_number_names_the_option(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "-q",
                 "--tokenizer-kwarg", 'model_max_length="abc"')
    assert_one_line_error(run, "--tokenizer-kwarg model_max_length")


def test_an_attention_kernel_the_machine_lacks_is_blamed_on_that_option(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "-q",
                 "--attn-implementation", "flash_attention_2")
    assert_one_line_error(run, "--attn-implementation flash_attention_2")
    assert "model's code" not in run.stderr


def test_limits_within_the_model_pass(tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "-q",
                 "--max-seq-length", "128", "--truncate-dim", "16")
    assert run.exit_code == 0, run.stderr
