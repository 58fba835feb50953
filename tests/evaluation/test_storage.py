"""--storage (issue 22): the scan's embeddings stored as indexes store them, searched against float32
exact search; bytes, recall and Spearman per precision, a gate, and no model load of its own."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from cli_checks import assert_one_line_error
from conftest import invoke
from output_checks import cut_lines, missing
from scale_models import build_tiny_cross_encoder
from storage_checks import ALL, FAST
from storage_checks import storage_row as _row


@pytest.fixture(scope="module")
def corpus_texts(tmp_path_factory):
    """The built-in corpus' first 40 texts: a --storage scan's texts where the built-in corpus is not the point."""
    from precheck.engine.storage import builtin_corpus

    path = tmp_path_factory.mktemp("storage-texts") / "texts.txt"
    path.write_text("\n".join(builtin_corpus()[:40]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_storage_scan(tiny_model):
    run = invoke("scan", tiny_model, *FAST, "--storage", ALL, "--min-recall", "0", "--json", "-")
    return run, run.json()


def test_scan_storage_report_matches_the_schema(tiny_storage_scan):
    import jsonschema

    from precheck.data.schema import REPORT_SCHEMA

    run, report = tiny_storage_scan
    assert run.exit_code == 0
    jsonschema.validate(report, REPORT_SCHEMA)


def test_scan_storage_has_a_row_per_passing_model_dtype_and_precision(tiny_storage_scan):
    _, report = tiny_storage_scan
    rows = [(r["model_dtype"], r["precision"]) for r in report["storage"]["results"]]
    assert rows == [(d, p) for d in ("float32", "float16") for p in ALL.split(",")]


def test_scan_storage_bytes_per_vector_follow_the_precision(tiny_storage_scan):
    _, report = tiny_storage_scan
    dim = report["storage"]["dimensions"]
    assert dim == 32
    expected = {"float32": 4 * dim, "float16": 2 * dim, "int8": dim, "uint8": dim, "binary": dim // 8,
                "ubinary": dim // 8}
    assert {r["precision"]: r["bytes_per_vector"] for r in report["storage"]["results"]} == expected


def test_scan_storage_float32_stored_in_float32_is_the_reference(tiny_storage_scan):
    _, report = tiny_storage_scan
    row = _row(report, "float32", "float32")
    assert (row["recall_at_1"], row["recall_at_10"], row["spearman"]) == (1.0, 1.0, 1.0)
    assert row["recall_at_10_rescored"] is None


def test_scan_storage_recalls_are_shares_and_quantized_rows_are_rescored(tiny_storage_scan):
    _, report = tiny_storage_scan
    for r in report["storage"]["results"]:
        assert all(0.0 <= r[k] <= 1.0 for k in ("recall_at_1", "recall_at_10"))
        rescored = r["precision"] in ("int8", "uint8", "binary", "ubinary")
        assert (r["recall_at_10_rescored"] is not None) == rescored


def test_scan_storage_binary_and_ubinary_hold_the_same_bits(tiny_storage_scan):
    _, report = tiny_storage_scan
    binary, ubinary = _row(report, "float32", "binary"), _row(report, "float32", "ubinary")
    assert {**binary, "precision": "", "seconds": 0} == {**ubinary, "precision": "", "seconds": 0}


def test_scan_storage_searches_the_builtin_corpus_and_holds_a_quarter_apart(tiny_storage_scan):
    _, report = tiny_storage_scan
    storage = report["storage"]
    assert storage["calibration"] == "held-apart"
    assert storage["corpus"] > 200 and storage["calibration_items"] == pytest.approx(storage["corpus"] / 3, abs=2)
    assert report["settings"]["probe_items"] > storage["corpus"] + storage["calibration_items"] - 5


def test_scan_storage_impossible_min_recall_on_binary_fails_with_exit_1(tiny_model, corpus_texts):
    run = invoke("scan", tiny_model, *FAST, "--texts", corpus_texts, "--storage", "binary", "--min-recall", "1.0",
                 "--json", "-", "-q")
    report = run.json()
    assert run.exit_code == 1
    assert report["storage"]["passed"] is False and report["verdict"]["passed"] is False
    assert all(v["passed"] for v in report["verdict"]["dtypes"])


def test_scan_storage_unknown_precision_is_one_line_and_exit_2(tiny_model):
    run = invoke("scan", tiny_model, "--storage", "float16,foo")
    assert run.exit_code == 2
    assert run.stderr.strip() == "precheck: error: --storage: unknown precision 'foo' " \
                                 "(choose from float32, float16, int8, uint8, binary, ubinary)"


def test_scan_storage_min_recall_out_of_range_is_exit_2(tiny_model):
    run = invoke("scan", tiny_model, "--storage", "int8", "--min-recall", "1.5")
    assert run.exit_code == 2 and run.stderr.count("\n") == 1 and "--min-recall" in run.stderr


def test_scan_storage_refuses_a_cross_encoder_in_one_line(tmp_path):
    reranker = build_tiny_cross_encoder(tmp_path / "reranker")
    run = invoke("scan", reranker, "--storage", "int8")
    assert run.exit_code == 2 and run.stderr.count("\n") == 1
    assert "--storage measures dense embeddings" in run.stderr and "cross-encoder" in run.stderr


def test_scan_storage_with_too_few_texts_is_exit_2(tiny_model, probe_file):
    run = invoke("scan", tiny_model, *FAST, "--texts", probe_file, "--storage", "int8")
    assert run.exit_code == 2 and "--storage needs more than 10 texts" in run.stderr


def test_scan_calibration_without_storage_is_exit_2(tiny_model, probe_file):
    run = invoke("scan", tiny_model, "--calibration", probe_file)
    assert run.exit_code == 2 and "--calibration is for --storage" in run.stderr


def test_scan_storage_adds_no_model_load_and_no_run(tiny_model, corpus_texts):
    plain = invoke("scan", tiny_model, *FAST, "--texts", corpus_texts)
    stored = invoke("scan", tiny_model, *FAST, "--texts", corpus_texts, "--storage", ALL, "--min-recall", "0")
    assert plain.exit_code == stored.exit_code == 0

    def loads_and_runs(stderr):
        return [line for line in stderr.splitlines() if "loading" in line or "running" in line]

    assert len(loads_and_runs(plain.stderr)) >= 3
    assert loads_and_runs(stored.stderr) == loads_and_runs(plain.stderr)


def test_scan_storage_calibration_file_calibrates_and_the_texts_are_all_searched(tiny_model, corpus_texts,
                                                                                  tmp_path):
    from precheck.engine.storage import builtin_corpus

    calibration = tmp_path / "calibration.txt"
    calibration.write_text("\n".join(builtin_corpus()[200:230]), encoding="utf-8")
    run = invoke("scan", tiny_model, *FAST, "--texts", corpus_texts, "--storage", "int8", "--min-recall", "0",
                 "--calibration", calibration, "--json", "-")
    storage = run.json()["storage"]
    assert run.exit_code == 0
    assert (storage["calibration"], storage["calibration_items"], storage["corpus"]) == (str(calibration), 30, 40)
    assert "encoding 30 --calibration texts in float32" in run.stderr


@pytest.fixture(scope="module")
def storage_view(tiny_model, corpus_texts, tmp_path_factory):
    path = tmp_path_factory.mktemp("view") / "report.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        run = invoke("scan", tiny_model, *FAST, "--texts", corpus_texts, "--storage", ALL, "--min-recall", "0.5",
                     "--json", path)
    return run.stdout, json.loads(path.read_text())["storage"]


def test_scan_storage_view_at_80_columns_keeps_tables_within_80_uncut(storage_view):
    view, _ = storage_view
    framed = [line for line in view.splitlines() if line[:1] in "┃│┏┡└╭╰"]
    assert cut_lines(view) == [] and max(len(line) for line in framed) <= 80


def test_scan_storage_view_prints_every_figure_whole_and_the_gate_line(storage_view):
    view, storage = storage_view
    wanted = [f"{r[k]:.3f}" for r in storage["results"] for k in ("recall_at_1", "recall_at_10")]
    wanted += [f"{r['spearman']:.4f}" for r in storage["results"]]
    assert missing(view, wanted) == []
    assert ("PASS storage" if storage["passed"] else "FAIL storage") in view


def test_scan_storage_summary_has_the_storage_table(tiny_model, corpus_texts, tmp_path):
    summary = tmp_path / "summary.md"
    run = invoke("scan", tiny_model, *FAST, "--texts", corpus_texts, "--storage", "int8,ubinary", "--min-recall", "0",
                 "--summary", summary, "-q")
    text = summary.read_text()
    assert run.exit_code == 0
    assert "| model dtype | stored as | bytes/vector |" in text
    assert "| float16 | ubinary | 4 |" in text


def test_ci_storage_key_gates_and_writes_a_junit_case_per_precision(tiny_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "precheck.toml").write_text(
        f'[defaults]\ndtypes = ["fp16"]\nfix = false\nmin_cosine = 0.9\n\n[[models]]\nname = "{tiny_model}"\n'
        'storage = ["int8", "binary"]\nmin_recall = 1.0\n', encoding="utf-8")
    run = invoke("ci", "--junit", tmp_path / "junit.xml")
    assert "storage binary: recall@10" in run.stdout
    cases = ET.parse(tmp_path / "junit.xml").getroot().findall("testcase")
    names = [c.get("name") for c in cases]
    assert run.exit_code == 1
    assert "storage float32 binary" in names and "storage float16 int8" in names
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert "storage float32 binary" in failed and "float16" not in failed


def test_ci_storage_key_with_an_unknown_precision_names_the_key(tiny_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "precheck.toml").write_text(f'[[models]]\nname = "{tiny_model}"\nstorage = ["int4"]\n',
                                            encoding="utf-8")
    run = invoke("ci", "-q")
    assert run.exit_code == 2
    assert "models[0].storage: unknown precision 'int4'" in run.stderr


def test_scan_storage_all_minilm_int8_keeps_most_neighbours(plain_model, tmp_path):
    from precheck.engine.storage import builtin_corpus

    texts = tmp_path / "texts.txt"  # half the built-in corpus: enough neighbours, half the encoding
    texts.write_text("\n".join(builtin_corpus()[:150]), encoding="utf-8")
    run = invoke("scan", plain_model, "-d", "bf16", "--no-fix", "--texts", texts, "--storage", "int8,ubinary",
                 "--json", "-", "-q")
    report = run.json()
    int8, ubinary = _row(report, "bfloat16", "int8"), _row(report, "bfloat16", "ubinary")
    assert int8["bytes_per_vector"] == 384 and ubinary["bytes_per_vector"] == 48
    assert int8["recall_at_10_rescored"] >= 0.9 and int8["passed"]
    assert ubinary["recall_at_10_rescored"] < int8["recall_at_10_rescored"]
    assert ubinary["recall_at_10_rescored"] > ubinary["recall_at_10"]


def test_scan_storage_rescoring_as_many_candidates_as_results_finds_the_same_ten(tiny_model, corpus_texts):
    # --rescore-multiplier 1: the index returns 10 candidates and rescoring can only reorder them.
    run = invoke("scan", tiny_model, *FAST, "--texts", corpus_texts, "--storage", "int8,binary", "--min-recall", "0",
                 "--rescore-multiplier", "1", "--json", "-", "-q")
    assert run.exit_code == 0, run.stderr
    storage = run.json()["storage"]
    assert storage["rescore_multiplier"] == 1
    for row in storage["results"]:
        if row["recall_at_10_rescored"] is not None:
            assert row["recall_at_10_rescored"] == row["recall_at_10"], row


def test_scan_rescore_multiplier_without_storage_is_exit_2(tiny_model):
    run = invoke("scan", tiny_model, "--rescore-multiplier", "4")
    assert_one_line_error(run, "--rescore-multiplier is for --storage")
