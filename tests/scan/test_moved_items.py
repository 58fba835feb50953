"""Which texts moved, and why (issue 27): the worst texts per run with their token counts and the
window's cuts, neighbour changes, percentiles; bounded in the JSON, three per dtype in the terminal."""
from __future__ import annotations

import json
import re

import pytest

from conftest import PROBE_TEXTS, invoke

LONG = " ".join(["overflowing"] * 400)  # past MiniLM's 256-token window


@pytest.fixture(scope="module")
def long_text_run(two_layer_model, tmp_path_factory):
    """`scan MiniLM -d fp16 --no-fix` (its first two layers: MiniLM's tokenizer and 256-token window) on the
    probe texts plus one past the window, at 80 columns."""
    folder = tmp_path_factory.mktemp("moved")
    texts = folder / "texts.jsonl"
    texts.write_text("".join(json.dumps({"text": t}) + "\n" for t in [*PROBE_TEXTS, LONG]), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        run = invoke("scan", two_layer_model, "--texts", texts, "-d", "fp16", "--no-fix", "--json", folder / "r.json")
    return run, json.loads((folder / "r.json").read_text(encoding="utf-8"))


def test_scan_json_lists_the_worst_texts_with_token_counts_and_the_truncated_flag(long_text_run):
    _, report = long_text_run
    per_item = report["results"][0]["per_item"]
    assert per_item["figure"] == "cosine" and per_item["compared"] == len(PROBE_TEXTS) + 1
    worst = per_item["worst"]
    assert len(worst) == len(PROBE_TEXTS) + 1  # under the bound: every text
    assert [w["cosine"] for w in worst] == sorted(w["cosine"] for w in worst)
    long = next(w for w in worst if w["item"] == len(PROBE_TEXTS))
    assert long["truncated"] is True and long["tokens"] > 256 and long["text"] == LONG[:300]
    short = next(w for w in worst if w["item"] == 0)
    assert short["truncated"] is False and 0 < short["tokens"] < 10
    assert set(per_item["percentiles"]) == {"p1", "p5", "p50", "p95", "p99"}
    assert per_item["percentiles"]["p1"] >= worst[0]["cosine"]


def test_scan_json_says_how_many_texts_the_window_cut(long_text_run):
    _, report = long_text_run
    assert report["truncation"] == {"window": 256, "items": 1, "longest": report["truncation"]["longest"],
                                    "shortest_cut": report["truncation"]["longest"]}
    assert report["truncation"]["longest"] > 256


def test_scan_json_with_moved_items_validates_against_the_schema(long_text_run):
    import jsonschema

    from precheck.data.schema import REPORT_SCHEMA

    jsonschema.validate(long_text_run[1], REPORT_SCHEMA)


def test_worst_items_are_bounded_and_percentiles_cover_every_item():
    from precheck.compare.dense import Comparison
    from precheck.engine.moved import MAX_RECORDS, WORST_ITEMS, item_figures

    texts = [f"text {i}" for i in range(5000)]
    cosines = tuple(1 - i / 1e5 for i in range(5000))
    changes = tuple((i, i + 1, i + 2) for i in range(1500))
    figures = item_figures(Comparison(0, item_cosines=cosines, neighbour_changes=changes), texts, None, None, 0.5)
    assert len(figures.worst) == WORST_ITEMS and figures.worst[0].item == 4999 and figures.compared == 5000
    assert figures.percentiles["p50"] == pytest.approx(1 - 2499.5 / 1e5)
    assert len(figures.neighbour_changes) == MAX_RECORDS and figures.neighbour_changes_total == 1500
    assert figures.neighbour_changes[0].float32_text == "text 1" and figures.neighbour_changes[0].now_text == "text 2"
    under = item_figures(Comparison(0, item_cosines=cosines), texts, None, None, 0.99)
    assert under.below_threshold in (3999, 4000) and len(under.worst) == MAX_RECORDS


def test_a_pair_records_its_query_and_passage_and_ranks_by_score_difference():
    from precheck.compare.dense import Comparison
    from precheck.engine.moved import item_figures

    pairs = [("q", "a"), ("q", "b"), ("r", "c")]
    figures = item_figures(Comparison(0, item_score_diffs=(0.1, 0.3, None), neighbour_changes=((0, 0, 1),)),
                           pairs, [5, 300, 7], 256, 0.999)
    assert figures.figure == "score_diff" and figures.compared == 2
    first = figures.worst[0]
    assert (first.item, first.text, first.document, first.tokens, first.truncated) == (1, "q", "b", 300, True)
    change = figures.neighbour_changes[0]
    assert (change.text, change.float32_text, change.now_text) == ("q", "a", "b")


def test_scan_view_prints_the_verdict_and_what_to_do_before_any_table(long_text_run):
    run, _ = long_text_run
    lines = run.stdout.splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith("PASS float16"))
    first_table = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    assert verdict < first_table
    # On a CPU where float16 runs slower than float32 the line says so instead (docs/benchmarks.md).
    said = " ".join(" ".join(lines[verdict:verdict + 4]).split())
    assert "nothing to do" in said or "nothing to fix, but slower than float32" in said


def test_scan_view_shows_one_module_table_with_a_column_per_load(long_text_run):
    run, report = long_text_run
    view = run.stdout
    assert view.count("Modules: MiB per load") == 1
    header = next(line for line in view.splitlines() if line.startswith("┃ module"))
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == ["module", "class", "params", "float32",
                                                                       "float16"]
    assert " MB " not in view and "MiB" in view


def test_scan_view_notes_the_texts_the_window_cut_and_the_three_worst(long_text_run):
    run, report = long_text_run
    unfolded = " ".join(line.strip() for line in run.stdout.splitlines())
    assert "1 of 9 probe texts" in unfolded and "cut to 256 tokens" in unfolded
    assert "every figure covers the cut text" in unfolded
    worst = report["results"][0]["per_item"]["worst"]
    # A worst text's line: its cosine (1.000000 where float16 rounds nothing away), then its number.
    shown = [line for line in run.stdout.splitlines() if re.match(r"  [01]\.\d+  #\d+, ", line) and ", #" not in line]
    assert len(shown) == 3 and f"#{worst[0]['item']}," in shown[0]
    assert max(len(line) for line in run.stdout.splitlines()) <= 80
