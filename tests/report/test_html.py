"""--html: the report as one self-contained page, checked in a real headless Chromium (issue 27 item 6)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import invoke

FAST = ("--no-fix", "-d", "fp16", "--device", "cpu")
# The tiny model drifts past a min cosine it cannot reach: the page then has its block-by-block drift.
DRIFTS = ("--min-cosine", "0.9999999")
TEXTS = "\n".join(f"probe text number {i}: the {w} fox jumps over the lazy dog" for i, w in
                  enumerate(["quick", "slow", "red", "brown", "small", "big", "old", "young"] * 4)) + "\n"


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html-texts") / "texts.txt"
    path.write_text(TEXTS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scan_page(tiny_model, texts, tmp_path_factory):
    """One drifting fp16 scan of the tiny model with --storage, written as --html and --json."""
    folder = tmp_path_factory.mktemp("html-scan")
    run = invoke("scan", tiny_model, "--texts", texts, *FAST, *DRIFTS, "--storage", "int8,binary", "--quiet",
                 "--html", folder / "page.html", "--json", folder / "report.json")
    return run, folder / "page.html", json.loads((folder / "report.json").read_text(encoding="utf-8"))


class _Page(HTMLParser):
    """What the tests look for in a page: its plots, sections, and every src/href it holds."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.plots: dict[str, int] = {}  # figure id -> drawn elements (paths, lines, text) in its svg
        self.sections: list[str] = []
        self.links: list[str] = []
        self.csp = ""
        self._plot = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure" and "plot" in attrs.get("class", ""):
            self._plot = attrs["id"]
            self.plots[self._plot] = 0
        elif self._plot and tag in ("path", "use", "text", "rect", "line", "polyline"):
            self.plots[self._plot] += 1
        if tag in ("section",) and attrs.get("id"):
            self.sections.append(attrs["id"])
        if tag == "meta" and attrs.get("http-equiv", "").lower() == "content-security-policy":
            self.csp = attrs["content"]
        self.links += [value for name, value in attrs.items() if name in ("src", "href", "xlink:href") and value]

    def handle_endtag(self, tag):
        if tag == "figure":
            self._plot = None


def test_scan_html_writes_the_verdict_tables_and_plots(scan_page):
    run, page, report = scan_page
    assert run.exit_code == 1, run.stderr  # drift, and the storage gate
    text = page.read_text(encoding="utf-8")
    parsed = _Page(text)
    assert {"verdict", "results", "diagnoses", "blocks", "storage", "modules"} <= set(parsed.sections)
    assert set(parsed.plots) == {"plot-headroom", "plot-drift", "plot-storage", "plot-cosines"}
    assert all(count > 10 for count in parsed.plots.values()), parsed.plots
    assert f"precheck scan: {report['model']['name']}" in text and "FAIL" in text
    assert all(row["precision"] in text for row in report["storage"]["results"])


def test_scan_html_page_needs_nothing_from_the_network(scan_page):
    parsed = _Page(scan_page[1].read_text(encoding="utf-8"))
    assert parsed.csp.startswith("default-src 'none'")
    assert all(link.startswith("#") for link in parsed.links), parsed.links
    assert "<script" not in scan_page[1].read_text(encoding="utf-8")


def _chromium() -> str:
    found = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                  if shutil.which(name)), None)
    if found is None:
        # Never skipped: a page no browser opened is not tested (scripts/test installs Debian's chromium).
        pytest.fail("no Chromium on PATH: apt-get install -y chromium (scripts/test installs it)")
    return found


def _open_in_chromium(page: Path, folder: Path) -> tuple[str, list[str], Path]:
    """The page in headless Chromium with every host name unresolvable: the DOM it built, the http(s) and ws
    requests the page itself started (from its net log; Chromium's own background requests are not the
    page's), and a screenshot."""
    netlog, shot = folder / f"{page.stem}-netlog.json", folder / f"{page.stem}.png"
    run = subprocess.run([_chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                          "--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={netlog}",
                          "--window-size=1200,3000", f"--screenshot={shot}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    events = json.loads(netlog.read_text(encoding="utf-8"))
    names = {value: name for name, value in events["constants"]["logEventTypes"].items()}
    requests = [event["params"]["url"] for event in events["events"]
                if names.get(event["type"]) == "URL_REQUEST_START_JOB"
                and "file://" in event["params"].get("network_isolation_key", "")
                and event["params"]["url"].startswith(("http:", "https:", "ws:", "wss:"))]
    return run.stdout, requests, shot


def test_scan_html_page_renders_in_headless_chromium_with_its_plots_and_fetches_nothing(scan_page, tmp_path):
    # The control: a page that does fetch is seen fetching, so an empty list below means something.
    control = tmp_path / "control.html"
    control.write_text('<html><body><img src="http://precheck-test.invalid/x.png"></body></html>')
    assert _open_in_chromium(control, tmp_path)[1] == ["http://precheck-test.invalid/x.png"]
    dom, requests, shot = _open_in_chromium(scan_page[1], tmp_path)
    assert requests == []
    parsed = _Page(dom)
    assert set(parsed.plots) == {"plot-headroom", "plot-drift", "plot-storage", "plot-cosines"}
    assert all(count > 10 for count in parsed.plots.values()), parsed.plots
    from PIL import Image

    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50  # painted: text, tables, plots, not a blank page


def test_cosine_histogram_is_drawn_from_the_reports_bins():
    from precheck.engine.moved import histogram
    from precheck.formats.html_plots import cosine_histogram

    assert cosine_histogram({}) is None and cosine_histogram({"float16": histogram([])}) is None
    svg = cosine_histogram({"float16": histogram([1e-7, 5e-8, 0.0]), "bfloat16": histogram([1e-4, 5e-5, 1e-3])})
    assert svg.startswith("<svg") and "bfloat16 (3 items)" in svg


def test_every_compared_item_is_counted_in_one_bin():
    from precheck.engine.moved import HISTOGRAM_EDGES, histogram

    counts = histogram([0.0, 1e-12, 2e-9, 0.5, 1.0, 3.0])["counts"]
    assert sum(counts) == 6 and counts[0] == 2 and counts[-1] == 2
    assert len(counts) == len(HISTOGRAM_EDGES)

def test_scan_html_without_matplotlib_is_one_line_and_exit_2_before_any_work(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    run = invoke("scan", tiny_model, *FAST, "--html", tmp_path / "page.html")
    assert run.exit_code == 2
    assert run.stderr.strip().splitlines() == [
        "precheck: error: --html needs matplotlib, which is not installed (pip install 'precheck-st[html]')"]
    assert not (tmp_path / "page.html").exists()


def test_scan_html_never_overwrites_an_input(tiny_model, texts, tmp_path):
    run = invoke("scan", tiny_model, "--texts", texts, *FAST, "--html", texts, "--force")
    assert run.exit_code == 2
    assert "--html" in run.stderr and "would overwrite the" in run.stderr


@pytest.fixture(scope="module")
def ci_project(tiny_model, texts, tmp_path_factory) -> Path:
    """Two models and a config whose `html` key names the page; a stale page is already there."""
    folder = tmp_path_factory.mktemp("html-ci")
    for name in ("a", "b"):
        shutil.copytree(tiny_model, folder / "models" / name)
    shutil.copy(texts, folder / "probe.txt")
    (folder / "precheck.toml").write_text(
        'html = "report.html"\n[defaults]\ndtypes = ["fp16"]\ndevice = "cpu"\nfix = false\ntexts = "probe.txt"\n'
        '[[models]]\nname = "models/a"\n[[models]]\nname = "models/b"\n', encoding="utf-8")
    (folder / "report.html").write_text("an earlier run's page\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def ci_pages(ci_project, monkeypatch_module):
    """`ci --shard 1/1` (the config's page, and the shard's JSON), then `merge --html merged.html`."""
    monkeypatch_module.chdir(ci_project)
    ci = invoke("ci", "--shard", "1/1", "--json", "shard.json", "--quiet")
    merge = invoke("merge", "shard.json", "--html", "merged.html", "--quiet")
    return ci, merge


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _model_sections(text: str) -> list[str]:
    return [s for s in _Page(text).sections if s.startswith("model-")]


def test_ci_html_key_replaces_the_page_each_run_with_one_page_for_all_models(ci_project, ci_pages):
    ci, _ = ci_pages
    assert ci.exit_code == 0, ci.stderr
    text = (ci_project / "report.html").read_text(encoding="utf-8")
    assert "precheck ci (precheck.toml): " in text and "2 of 2 models pass" in text
    assert _model_sections(text) == ["model-1", "model-2"]
    assert "models/a" in text and "models/b" in text and "plot-headroom" in text


def test_merge_html_writes_the_gate_page_and_leaves_the_config_page_alone(ci_project, ci_pages):
    _, merge = ci_pages
    assert merge.exit_code == 0, merge.stderr
    assert _model_sections((ci_project / "merged.html").read_text(encoding="utf-8")) == ["model-1", "model-2"]


def test_ci_html_key_must_be_a_path(tmp_path):
    (tmp_path / "precheck.toml").write_text('html = 3\n[[models]]\nname = "x"\n', encoding="utf-8")
    run = invoke("ci", "--config", tmp_path / "precheck.toml")
    assert run.exit_code == 2 and "precheck.toml.html should be a file path string, got 3" in run.stderr


def test_scan_html_shows_the_worst_texts_neighbour_changes_and_memory_plan(scan_page):
    from html import escape

    _, page, report = scan_page
    text = page.read_text(encoding="utf-8")
    assert {"moved", "memory"} <= set(_Page(text).sections)
    figures = next(r["per_item"] for r in report["results"] if r["strategy"] == "load")
    assert all(escape(w["text"]) in text for w in figures["worst"])
    if figures["neighbour_changes_total"]:
        assert f"changed for {figures['neighbour_changes_total']} of {figures['compared']}" in text
    assert "Memory plan" in text and "float32 reference" in text


def test_the_float16_limit_label_is_drawn_inside_the_headroom_plot(scan_page):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    from precheck.formats.html_plots import headroom_figure
    from precheck.data.report import Headroom

    _, _, report = scan_page
    for rows in (report["headroom"], report["headroom"][:1]):  # many blocks, and one
        figure = headroom_figure([Headroom(**h) for h in rows])
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        renderer = canvas.get_renderer()
        label = next(t for t in figure.findobj(Text) if t.get_text() == "float16 max 65504" and t.get_visible())
        box, page, plot = label.get_window_extent(renderer), figure.bbox, figure.axes[0].bbox
        # Inside the figure, in room the layout made for it: above the plot, never over its frame or bars
        # (at the frame's edge, a browser's font a little taller than matplotlib's is cut off).
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
        assert box.y0 > plot.y1
