"""--eval (issue 34): the user's own metric per precision on their labelled set, against float32, with a
paired bootstrap interval and a --max-metric-drop gate in the one verdict. Sets are written at test time
from sentences (evaluation_sets.py); float32's figures are held against sentence-transformers' evaluators
on MiniLM's real weights."""
from __future__ import annotations

import json

import pytest

from cli_checks import assert_one_line_error
from conftest import invoke
from evaluation_sets import beir_rows, write_beir, write_pairs_jsonl, write_pairs_tsv


@pytest.fixture(scope="module")
def beir_folder(tmp_path_factory):
    return write_beir(tmp_path_factory.mktemp("eval") / "beir")


@pytest.fixture(scope="module")
def pairs_tsv(tmp_path_factory):
    return write_pairs_tsv(tmp_path_factory.mktemp("eval") / "pairs.tsv")


@pytest.fixture(scope="module")
def minilm_beir_report(plain_model, beir_folder, probe_file):
    from precheck import scan

    # The short probe texts: these tests read the --eval figures, not the built-in probe set's.
    return scan(str(plain_model), dtypes=["fp16", "nf4"], fix=False, eval=beir_folder, texts_file=probe_file)


@pytest.fixture(scope="module")
def minilm_pairs_report(plain_model, pairs_tsv, probe_file):
    from precheck import scan

    return scan(str(plain_model), dtypes=["bf16"], fix=False, eval=str(pairs_tsv), texts_file=probe_file)


@pytest.fixture(scope="module")
def minilm_model(plain_model):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(plain_model), device="cpu")


def _row(report, dtype):
    return next(r for r in report.evaluation.results if r.dtype == dtype)


def _ir_evaluator_scores(model):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    corpus, queries, qrels = beir_rows()
    evaluator = InformationRetrievalEvaluator(
        queries={q["_id"]: q["text"] for q in queries},
        corpus={d["_id"]: (d["title"] + " " + d["text"]).strip() for d in corpus},
        relevant_docs={q: {d for qq, d, s in qrels if qq == q and s > 0} for q, _, _ in qrels},
        ndcg_at_k=[10], mrr_at_k=[10], precision_recall_at_k=[100], accuracy_at_k=[1], map_at_k=[10],
        score_functions=None, main_score_function="cosine")
    return evaluator(model)


def test_float32_ndcg_at_10_equals_sentence_transformers_information_retrieval_evaluator(minilm_beir_report,
                                                                                         minilm_model):
    expected = _ir_evaluator_scores(minilm_model)["cosine_ndcg@10"]
    assert _row(minilm_beir_report, "float32").metric == pytest.approx(expected, abs=1e-6)


def test_float32_mrr_and_recall_equal_sentence_transformers_information_retrieval_evaluator(minilm_beir_report,
                                                                                           minilm_model):
    scores = _ir_evaluator_scores(minilm_model)
    secondary = _row(minilm_beir_report, "float32").secondary
    assert secondary["mrr@10"] == pytest.approx(scores["cosine_mrr@10"], abs=1e-6)
    assert secondary["recall@100"] == pytest.approx(scores["cosine_recall@100"], abs=1e-6)


def test_float32_spearman_equals_sentence_transformers_embedding_similarity_evaluator(minilm_pairs_report,
                                                                                     minilm_model):
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    from evaluation_sets import PAIRS

    evaluator = EmbeddingSimilarityEvaluator([a for a, _, _ in PAIRS], [b for _, b, _ in PAIRS],
                                             [s for _, _, s in PAIRS], main_similarity="cosine")
    expected = evaluator(minilm_model)["spearman_cosine"]
    assert _row(minilm_pairs_report, "float32").metric == pytest.approx(expected, abs=1e-9)


def test_a_precision_row_states_difference_interval_and_bootstrap(minilm_beir_report):
    check = minilm_beir_report.evaluation
    row = _row(minilm_beir_report, "float16")
    assert (check.resamples, check.seed, check.confidence) == (1000, 0, 0.95)
    assert row.difference == pytest.approx(row.metric - _row(minilm_beir_report, "float32").metric)
    assert row.interval[0] <= row.difference <= row.interval[1]


def test_minilm_keeps_the_metric_in_every_precision_and_passes_the_eval_gate(minilm_beir_report,
                                                                            minilm_pairs_report):
    for report in (minilm_beir_report, minilm_pairs_report):
        assert report.evaluation.passed and all(r.passed for r in report.evaluation.results)
        assert not [line for line in report.verdict.failures if line.startswith("eval ")]


def test_scan_with_eval_writes_a_report_matching_the_schema(minilm_beir_report, minilm_pairs_report):
    import jsonschema

    from precheck.data.schema import REPORT_SCHEMA

    for report in (minilm_beir_report, minilm_pairs_report):
        jsonschema.validate(json.loads(report.to_json()), REPORT_SCHEMA)


@pytest.fixture(scope="module")
def overflow_eval_run(overflow_model, beir_folder, probe_file, tmp_path_factory):
    """The overflow model's float16 scan with --eval: its terminal view (stdout) and its report."""
    path = tmp_path_factory.mktemp("overflow-eval") / "report.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        run = invoke("scan", overflow_model, "-d", "fp16", "--no-fix", "--texts", probe_file, "--eval", beir_folder,
                     "--json", path,
                     "--summary", path.with_name("summary.md"), "--html", path.with_name("page.html"))
    run.report = json.loads(path.read_text(encoding="utf-8"))
    run.summary = path.with_name("summary.md").read_text(encoding="utf-8")
    run.page = path.with_name("page.html").read_text(encoding="utf-8")
    return run


def test_float16_overflow_loses_the_metric_and_fails_the_gate(overflow_eval_run):
    run = overflow_eval_run
    assert run.exit_code == 1
    report = run.report
    rows = {r["dtype"]: r for r in report["evaluation"]["results"]}
    assert rows["float32"]["passed"] and not rows["float16"]["passed"]
    assert rows["float16"]["metric"] < rows["float32"]["metric"] - 0.01
    assert rows["float16"]["interval"][1] < 0
    assert any(line.startswith("eval float16: nDCG@10") for line in report["verdict"]["failures"])


def test_float16_overflow_names_its_worst_queries_with_their_texts(overflow_eval_run):
    report = overflow_eval_run.report
    row = next(r for r in report["evaluation"]["results"] if r["dtype"] == "float16")
    texts = {q["text"] for q in beir_rows()[1]}
    assert row["worst"] and all(item["text"] in texts and item["value"] < item["float32"] for item in row["worst"])
    assert row["changed"] >= row["worse"] >= len(row["worst"])


def test_the_terminal_shows_the_metric_table_and_the_failing_gate(overflow_eval_run):
    run = overflow_eval_run
    assert "Your metric: nDCG@10 on 16 queries x 24 documents" in run.stdout
    assert "FAIL eval float16: nDCG@10" in run.stdout


def test_pairs_tsv_and_json_lines_read_the_same_set(tmp_path):
    from precheck.evaluation.sets import read_eval_set

    tsv = read_eval_set(write_pairs_tsv(tmp_path / "pairs.tsv"))
    jsonl = read_eval_set(write_pairs_jsonl(tmp_path / "pairs.jsonl"))
    assert (tsv.sentences1, tsv.sentences2, tsv.scores) == (jsonl.sentences1, jsonl.sentences2, jsonl.scores)


def _broken_beir(folder, what):
    corpus, queries, qrels = beir_rows()
    if what == "qrel naming no document":
        qrels = [*qrels, (queries[0]["_id"], "no-such-doc", 1)]
    elif what == "empty query file":
        queries = []
    elif what == "score not a number":
        qrels = [(q, d, "high" if n == 0 else s) for n, (q, d, s) in enumerate(qrels)]
    elif what == "duplicate document id":
        corpus = [*corpus, corpus[0]]
    elif what == "duplicate query id":
        queries = [*queries, queries[0]]
    return write_beir(folder, corpus, queries, qrels)


@pytest.mark.parametrize("what, needle", [
    ("qrel naming no document", "corpus-id 'no-such-doc' is not in corpus.jsonl"),
    ("empty query file", "queries.jsonl is empty"),
    ("score not a number", "score 'high' is not a number"),
    ("duplicate document id", "_id 'password-d0' repeats line 1"),
    ("duplicate query id", "_id 'password-q0' repeats line 1"),
])
def test_a_malformed_beir_folder_is_refused_in_one_line(tiny_model, tmp_path, what, needle):
    folder = _broken_beir(tmp_path / "beir", what)
    assert_one_line_error(invoke("scan", tiny_model, "-d", "fp16", "--no-fix", "--eval", folder), "--eval", needle)


def test_a_pair_score_that_is_not_a_number_is_refused_in_one_line(tiny_model, tmp_path):
    path = write_pairs_tsv(tmp_path / "pairs.tsv", [("a", "b", "1.0"), ("c", "d", "n/a")])
    assert_one_line_error(invoke("scan", tiny_model, "-d", "fp16", "--eval", path), "line 3: score 'n/a' is not a number")


def test_max_metric_drop_without_eval_is_refused(tiny_model):
    assert_one_line_error(invoke("scan", tiny_model, "--max-metric-drop", "0.05"), "--max-metric-drop is for --eval")


def test_the_job_summary_has_the_metric_table_with_the_failing_precision(overflow_eval_run):
    assert "Your metric (nDCG@10 on the --eval set" in overflow_eval_run.summary
    assert any(line.startswith("| float16 | 0.0000 | -0.9873 |") and line.endswith("| FAIL |")
               for line in overflow_eval_run.summary.splitlines())


def test_the_html_page_draws_the_difference_with_its_interval(overflow_eval_run):
    page = overflow_eval_run.page
    section = page[page.index('<section id="evaluation">'):]
    assert "Your metric: nDCG@10 on 16 queries" in section
    assert '<figure class="plot" id="plot-evaluation"><svg' in section


@pytest.fixture(scope="module")
def config_eval_run(tiny_model, tmp_path_factory):
    """`ci` over the tiny model with the config's eval and max_metric_drop keys, with --junit."""
    folder = tmp_path_factory.mktemp("config-eval")
    write_pairs_tsv(folder / "pairs.tsv")
    (folder / "precheck.toml").write_text(
        f'[defaults]\ndtypes = ["fp16"]\nfix = false\nmin_cosine = 0.9\n[[models]]\nname = "{tiny_model}"\n'
        f'eval = "pairs.tsv"\nmax_metric_drop = 2.0\n', encoding="utf-8")
    run = invoke("ci", "--config", folder / "precheck.toml", "--json", "-", "-q", "--junit", folder / "junit.xml")
    run.junit = (folder / "junit.xml").read_text(encoding="utf-8")
    run.folder = folder
    return run


def test_the_config_eval_key_reaches_the_scan(config_eval_run):
    evaluation = config_eval_run.json()["models"][0]["report"]["evaluation"]
    assert (evaluation["layout"], evaluation["max_metric_drop"], evaluation["items"]) == ("pairs", 2.0, 16)


def test_junit_has_a_case_per_evaluated_precision(config_eval_run):
    import xml.etree.ElementTree as ET

    names = [case.get("name") for case in ET.fromstring(config_eval_run.junit).iter("testcase")]
    assert names == ["float16", "eval float32", "eval float16"]


def test_a_nan_query_retrieves_nothing_and_a_nan_document_is_never_found():
    import numpy as np

    from precheck.evaluation.ranking import rank_corpus

    corpus = np.eye(3, dtype=np.float32)
    corpus[1] = np.nan
    queries = np.array([[1, 0, 0], [0, 1, 0], [np.nan, 0, 0]], dtype=np.float32)
    ranked = rank_corpus(queries, corpus, [{0: 1.0}, {1: 1.0}, {0: 1.0}])
    assert ranked.ndcg.tolist() == [1.0, 0.0, 0.0]
    assert 1 not in ranked.top[1].tolist() and ranked.top[2].tolist() == [-1, -1, -1]


def test_ndcg_takes_graded_relevance_as_linear_gains():
    import math

    from precheck.evaluation.ranking import query_figures

    ndcg, mrr, recall = query_figures([2, 0, 1], {0: 2.0, 1: 1.0, 2: 0.0})
    ideal = 2 + 1 / math.log2(3)
    assert ndcg == pytest.approx((0 + 2 / math.log2(3) + 1 / 2) / ideal)
    assert (mrr, recall) == (0.5, 1.0)


def test_the_bootstrap_interval_is_reproducible_and_covers_a_shifted_mean():
    import numpy as np

    from precheck.evaluation.bootstrap import mean_difference, paired_interval

    differences = np.random.default_rng(1).normal(-0.05, 0.02, size=200)
    first = paired_interval(200, mean_difference(differences))
    assert first == paired_interval(200, mean_difference(differences))
    assert first[0] < differences.mean() < first[1] < 0


def test_nf4_is_measured_with_its_interval(minilm_beir_report):
    row = _row(minilm_beir_report, "nf4")
    assert row.metric is not None and row.interval is not None
    assert row.interval[0] <= row.difference <= row.interval[1]


def test_a_metric_below_the_baseline_is_a_regression(config_eval_run, tmp_path):
    import shutil

    folder = tmp_path / "project"
    shutil.copytree(config_eval_run.folder, folder)
    config = folder / "precheck.toml"
    assert invoke("ci", "--config", config, "--update-baseline", "-q").exit_code == 0
    baseline = json.loads((folder / "precheck-baseline.json").read_text(encoding="utf-8"))
    figures = next(iter(baseline["models"].values()))["float16"]
    figures["eval_metric"] += 0.5  # as recorded by a release whose metric was higher
    (folder / "precheck-baseline.json").write_text(json.dumps(baseline), encoding="utf-8")
    run = invoke("ci", "--config", config, "--json", "-", "-q")
    assert run.exit_code == 1
    assert [g["figure"] for g in run.json()["models"][0]["regressions"]] == ["eval_metric"]


def test_a_cached_float32_reference_still_measures_float32_on_the_set(tiny_model, tiny_texts, pairs_tsv, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setenv("PRECHECK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PRECHECK_NO_CACHE", raising=False)
    reports = [invoke("scan", tiny_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "--min-cosine", "0.9",
                      "--eval", pairs_tsv, "--max-metric-drop", "2", "--json", "-", "-q").json() for _ in range(2)]
    assert [r["reference"]["cached"] for r in reports] == [False, True]
    assert reports[0]["evaluation"]["results"][0] == {**reports[1]["evaluation"]["results"][0],
                                                      "seconds": reports[0]["evaluation"]["results"][0]["seconds"]}
