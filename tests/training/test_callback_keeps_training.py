"""PrecheckCallback never ends the user's training run for precheck's own reasons (issue 32.3): real short
runs of each sentence-transformers trainer on a 2-layer model of MiniLM's real weights, the float32 reference
cache on (as users have it). A check that cannot run is logged and said on stderr with its step, and training
goes on; a model that changes between saves is checked at each save; the figures logged are floats (issue 35.7).

SentenceTransformerTrainer's run has the callback at its defaults, built-in probe set included (`default_run`,
read by several tests). The other runs give the short probe items (conftest's PROBE_TEXTS / PROBE_PAIRS) where
a check runs: what they assert is about the model, the trainer and the cache, not the items, and the built-in
set's longest items (up to the cross-encoder's 512 tokens) make a float16 check 4-5x dearer on a CPU."""
from __future__ import annotations

import pytest

pytest.importorskip("datasets", reason="sentence-transformers' trainers need datasets (the test extra installs it)")

from conftest import PROBE_PAIRS, PROBE_TEXTS  # noqa: E402
from training_runs import PAIRS, load_object, minilm_folder, train_kind  # noqa: E402

TRAINERS = ("sentence-transformer", "cross-encoder", "sparse-encoder")
STEPS, SAVE_STEPS = 4, 2
SHORT_ITEMS = {"sentence-transformer": {"texts": PROBE_TEXTS}, "sparse-encoder": {"texts": PROBE_TEXTS},
               "cross-encoder": {"pairs": PROBE_PAIRS}}
# What the cross-encoder's and the sparse encoder's runs read: the training pairs and the short probe items.
READ = [text for pair in PAIRS + PROBE_PAIRS for text in pair] + PROBE_TEXTS


@pytest.fixture(scope="module")
def minilm_folders(tmp_path_factory):
    """Each kind's two-layer MiniLM folder, saved once for the module (only read: each run loads its own object).
    The cross-encoder's and the sparse encoder's vocabularies are cut to the tokens their runs read
    (training_runs.cut_vocabulary: the same outputs on them, a SPLADE output and head of a few hundred
    dimensions, not 30522); the sentence-transformer keeps MiniLM's, as `default_run` reads the built-in
    probe set and its start line states the parameter count."""
    root, folders = tmp_path_factory.mktemp("minilm-2"), {}

    def folder(kind: str):
        if kind not in folders:
            folders[kind] = minilm_folder(kind, root / kind, texts=None if kind == "sentence-transformer" else READ)
        return folders[kind]

    return folder


@pytest.fixture
def cache_on(monkeypatch, tmp_path):
    """The users' default: the float32 reference cache on, in a folder of this test's own."""
    monkeypatch.delenv("PRECHECK_NO_CACHE", raising=False)
    monkeypatch.setenv("PRECHECK_CACHE", str(tmp_path / "cache"))


def run(trainer_kind: str, model_folder, folder, **callback_options):
    """A run of `trainer_kind`'s trainer on the model loaded from `model_folder`, with
    PrecheckCallback(**callback_options) (stderr as users see it)."""
    from precheck.integrations import PrecheckCallback

    callback = PrecheckCallback(**callback_options)
    trainer = train_kind(trainer_kind, load_object(trainer_kind, model_folder), folder / "out", [callback],
                         steps=STEPS, save_steps=SAVE_STEPS, model_only=True)
    return trainer, callback


def precheck_entries(trainer) -> list[dict]:
    return [entry for entry in trainer.state.log_history if any(k.startswith("precheck/") for k in entry)]


@pytest.fixture(params=TRAINERS)
def trained_between_saves(request, minilm_folders, tmp_path):
    """Each trainer's run with the cache on: SentenceTransformerTrainer's is the module's `default_run`
    (the callback at its defaults); the cross-encoder's and the sparse encoder's give the short probe items."""
    kind = request.param
    if kind == "sentence-transformer":
        return request.getfixturevalue("default_run")[:2]
    request.getfixturevalue("cache_on")
    return run(kind, minilm_folders(kind), tmp_path, **SHORT_ITEMS[kind])


def test_a_model_trained_between_saves_is_checked_at_each_save(trained_between_saves):
    trainer, callback = trained_between_saves
    assert trainer.state.global_step == STEPS
    errors = [c.error for c in callback.checks if c.error]
    assert not errors, errors  # fine-tuning changed the model: each save's check still runs
    assert [c.step for c in callback.checks] == [2, 4]
    assert [entry["step"] for entry in precheck_entries(trainer)] == [2, 4]


@pytest.mark.parametrize("kind", TRAINERS)
def test_a_check_the_scan_refuses_is_logged_and_training_goes_on(kind, minilm_folders, cache_on, tmp_path,
                                                                  capsys):
    wrong = {"texts": ["hello world"]} if kind == "cross-encoder" else {"pairs": [("hello", "world")]}
    trainer, callback = run(kind, minilm_folders(kind), tmp_path, **wrong)
    assert trainer.state.global_step == STEPS
    logged = precheck_entries(trainer)
    assert [entry["step"] for entry in logged] == [2, 4]
    for entry in logged:
        assert entry["precheck/error"] == 1.0
        assert "given for in-memory" in entry["precheck/error_message"]
    lines = [line for line in capsys.readouterr().err.splitlines() if "could not run" in line]
    assert [line.split(":")[0] for line in lines] == ["precheck step 2", "precheck step 4"]
    assert all("training goes on" in line and "given for in-memory" in line for line in lines)


def test_a_check_that_errors_does_not_stop_a_run_that_stops_on_fail(minilm_folders, cache_on, tmp_path):
    trainer, callback = run("sentence-transformer", minilm_folders("sentence-transformer"), tmp_path,
                            kind="cross-encoder", stop_on_fail=True)
    assert trainer.state.global_step == STEPS and callback.stopped is None
    assert all("kind cross-encoder given for an in-memory" in c.error for c in callback.checks)


def test_an_interrupt_during_a_check_still_ends_the_run(minilm_folders, cache_on, tmp_path):
    def interrupt(line: str) -> None:
        if line.startswith("precheck step"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run("sentence-transformer", minilm_folders("sentence-transformer"), tmp_path, echo=interrupt,
            **SHORT_ITEMS["sentence-transformer"])


@pytest.fixture(scope="module")
def default_run(minilm_folders, tmp_path_factory):
    """One run of SentenceTransformerTrainer with PrecheckCallback() as users make it, the cache on, and
    what it said on stderr."""
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("default-run")
    stderr = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stderr(stderr):
        patch.delenv("PRECHECK_NO_CACHE", raising=False)
        patch.setenv("PRECHECK_CACHE", str(folder / "cache"))
        trainer, callback = run("sentence-transformer", minilm_folders("sentence-transformer"), folder)
    return trainer, callback, stderr.getvalue()


def test_logged_figures_are_floats(default_run):
    trainer, _, _ = default_run
    for entry in precheck_entries(trainer):
        figures = {k: v for k, v in entry.items() if k.startswith("precheck/") and k != "precheck/error_message"}
        assert figures and all(type(v) is float for v in figures.values()), figures


def test_each_checks_line_gives_its_headline_figure_to_six_digits(default_run):
    trainer, _, err = default_run
    for entry in precheck_entries(trainer):
        assert f"precheck step {entry['step']}: float16 ok min_cosine {entry['precheck/float16/min_cosine']:.6f}" in err


def test_the_callback_says_when_it_checks_and_what_a_check_costs_when_training_starts(default_run):
    _, _, err = default_run
    first = next(line for line in err.splitlines() if line.startswith("precheck"))
    when = f"at each save (every {SAVE_STEPS} steps)"
    assert first.startswith(f"precheck: checks float16 {when} on 16 probe items; about ")
    assert "s a check on this CPU (an estimate for 16M parameters)" in first


def test_the_start_line_counts_the_texts_given_not_max_items(default_run):
    from precheck.integrations import PrecheckCallback

    trainer, _, _ = default_run
    line = PrecheckCallback(texts=PROBE_TEXTS[:5]).start_line(trainer.args, trainer.state, trainer.model)
    assert " on 5 probe items; about " in line


def test_once_a_check_has_run_the_start_line_gives_its_measured_cost_and_share(default_run):
    trainer, callback, _ = default_run
    line = callback.start_line(trainer.args, trainer.state, trainer.model)
    assert f"the last check took {callback.checks[-1].seconds:.1f} s, " in line
    assert line.endswith("of the time since the check before")


def test_an_error_without_a_message_is_named_by_its_type_and_where_it_was_raised():
    from precheck.integrations import error_line

    try:
        raise AssertionError  # as bitsandbytes' bare asserts raise (issue 35.3)
    except AssertionError as exc:
        line = error_line(exc)
    assert line.startswith("internal error: AssertionError: raised in test_callback_keeps_training.py:")


@pytest.mark.parametrize("options, says", [
    ({"texts": "hello world"}, "texts= is a str, not a list"),
    ({"texts": ["hello", ""]}, "texts= item 1 is '', not a non-empty text"),
    ({"pairs": [("query", "passage"), ("query",)]}, "pairs= item 1 is ('query',), not a (query, passage) pair"),
    ({"texts": []}, "texts= is empty"),
    ({"texts": ["a"], "pairs": [("a", "b")]}, "texts= and pairs= both given"),
    ({"max_items": 0}, "max_items=0 should be a whole number"),
])
def test_probe_items_that_cannot_be_right_are_refused_when_the_callback_is_made(options, says):
    import precheck
    from precheck.integrations import PrecheckCallback

    with pytest.raises(precheck.PrecheckError, match=says.replace("(", r"\(").replace(")", r"\)")):
        PrecheckCallback(**options)


def test_a_run_that_saves_no_checkpoint_is_told_that_no_check_will_run(tmp_path):
    from transformers import TrainerState, TrainingArguments

    from precheck.integrations import PrecheckCallback

    args = TrainingArguments(output_dir=str(tmp_path), save_strategy="no", report_to="none", use_cpu=True)
    line = PrecheckCallback().start_line(args, TrainerState(max_steps=10), None)
    assert line.startswith("precheck: checks float16 at each save, and this run saves no checkpoint")
    assert line.endswith("no check will run (pass when='steps', every=N)")
