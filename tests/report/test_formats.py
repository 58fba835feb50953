"""Output formats: one interface, one implementation per format, none of them printing."""
from __future__ import annotations

import json
from dataclasses import asdict

from precheck.formats.github import GITHUB
from precheck.formats.html import HTML
from precheck.formats.interface import Format
from precheck.data.json import JSON
from precheck.formats.junit import JUNIT
from precheck.formats.markdown import MARKDOWN
from precheck.data.report import ProbeResult


def test_every_output_format_implements_the_one_interface_under_its_own_name():
    formats = [JSON, JUNIT, MARKDOWN, GITHUB, HTML]
    assert all(isinstance(f, Format) for f in formats)
    assert sorted(f.name for f in formats) == ["github", "html", "json", "junit", "markdown"]


def test_json_format_writes_non_finite_figures_of_any_document_as_null():
    result = ProbeResult("float16", "load", "nonfinite", min_cosine=float("nan"), mean_cosine=float("inf"))
    # fix's JSON holds its check as a plain dict: it gets the same care as a report.
    for document in (json.loads(JSON.format(result)), json.loads(JSON.format({"check": asdict(result)}))["check"]):
        assert document["min_cosine"] is None and document["mean_cosine"] is None
