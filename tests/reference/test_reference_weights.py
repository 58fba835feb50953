"""A float32 reference whose weights are not in the checkpoint is made afresh at every load: precheck
holds a second float32 load against it and refuses to judge half precision by a reference that
changes (docs/diagnosis.md, "Is the float32 reference right?")."""
from __future__ import annotations

import reference_models
from cli_checks import assert_one_line_error
from conftest import invoke, scan_json


def test_a_reranker_whose_checkpoint_lacks_its_head_exits_2_naming_the_head(models_dir, pairs_file):
    model = reference_models.build_headless_cross_encoder(models_dir / "headless-reranker")
    run = invoke("scan", model, "--pairs", pairs_file, "-d", "bf16", "--no-fix")
    assert_one_line_error(run, "the float32 reference changes from one load to the next", "classifier.weight")


def test_a_decoder_embedder_missing_one_weight_exits_2_naming_it(models_dir, probe_file):
    model = reference_models.build_decoder_missing_a_weight(models_dir / "decoder-missing-weight")
    run = invoke("scan", model, "--texts", probe_file, "-d", "bf16", "--no-fix")
    assert_one_line_error(run, "initialised afresh at each load", "layers.1.mlp.down_proj.weight")


def test_a_missing_weight_the_outputs_never_read_is_a_note_not_a_failure(models_dir, probe_file):
    model = reference_models.build_unused_pooler_model(models_dir / "unused-pooler")
    run, report = scan_json(model, probe_file, "-d", "bf16", "--no-fix")
    assert run.exit_code == 0, run.stderr
    note = next(n for n in report["notes"] if "initialised afresh at each load" in n)
    assert "pooler.dense.weight" in note and "the outputs do not use them" in note
