"""PrecheckCallback in a real short fine-tuning run (issue 29): figures in the trainer's log history and a
report in each checkpoint; a layer whose scale grows with the steps is caught at the next check, named,
and stop_on_fail stops the run."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("datasets", reason="sentence-transformers' trainers need datasets (the test extra installs it)")

import precheck  # noqa: E402
from object_models import object_digest, tiny_object  # noqa: E402
from training_runs import growing_layer, train  # noqa: E402


@pytest.fixture(scope="module")
def healthy_run(tmp_path_factory):
    from precheck.integrations import PrecheckCallback

    folder = tmp_path_factory.mktemp("callback")
    callback = PrecheckCallback(dtypes=("fp16", "bf16"), echo=lambda line: None)
    trainer = train(tiny_object("sentence-transformer", folder), folder / "out", [callback], model_only=True)
    return trainer, callback, folder / "out"


def test_callback_figures_reach_the_trainers_log_history(healthy_run):
    trainer, callback, _ = healthy_run
    logged = [entry for entry in trainer.state.log_history if "precheck/float16/min_cosine" in entry]
    assert [entry["step"] for entry in logged] == [2, 4, 6]
    for entry in logged:
        assert entry["precheck/float16/passed"] == 1.0 and entry["precheck/float16/nonfinite"] == 0.0
        assert "precheck/bfloat16/min_cosine" in entry and entry["precheck/seconds"] > 0
    assert [c.step for c in callback.checks] == [2, 4, 6] and callback.stopped is None


def test_callback_writes_a_report_into_each_checkpoint(healthy_run):
    _, _, out = healthy_run
    for step in (2, 4, 6):
        report = json.loads((out / f"checkpoint-{step}" / "precheck-report.json").read_text())
        assert report["schema"] == "precheck.report/1"
        assert report["model"]["source"] == "object"
        assert report["settings"]["dtypes"] == ["float16", "bfloat16"]


def test_callback_leaves_training_as_it_would_have_been(healthy_run, tmp_path):
    trainer, _, _ = healthy_run
    plain = train(tiny_object("sentence-transformer", tmp_path), tmp_path / "out", [], model_only=True)
    assert object_digest(plain.model) == object_digest(trainer.model)


def test_a_layer_that_grows_past_float16_stops_the_run_at_the_next_check(tmp_path):
    from precheck.integrations import PrecheckCallback

    lines: list[str] = []
    grow = growing_layer(10.0)
    callback = PrecheckCallback(dtypes="fp16", stop_on_fail=True, echo=lines.append)
    trainer = train(tiny_object("sentence-transformer", tmp_path), tmp_path / "out", [grow, callback], steps=12,
                    model_only=True)
    first_fail = next(c for c in callback.checks if not c.passed["float16"])
    assert callback.checks[0].passed["float16"]  # it passed before it grew
    assert trainer.state.global_step == first_fail.step < 12  # stopped at that check
    assert callback.stopped is not None
    assert f"step {first_fail.step}" in callback.stopped and "float16" in callback.stopped
    assert grow.path in callback.stopped  # the module: the grown layer (or a part of it)
    assert callback.stopped in lines


def test_callback_refuses_a_name_only_option_when_it_is_made():
    from precheck.integrations import PrecheckCallback

    with pytest.raises(precheck.PrecheckError, match="revision is for a model name"):
        PrecheckCallback(revision="main")
    with pytest.raises(precheck.PrecheckError, match="every=N goes with when='steps'"):
        PrecheckCallback(every=5)
