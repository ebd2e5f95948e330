"""The report page comes from Jinja2 templates: escaped, free of markup in Python, unchanged.

`data/report/full_report.html` is the page that the string-building renderer (before the
templates) produced for `report_samples.full_report_data()`. After an intended change to the
page, rewrite it with `python -m tests.dagster_project.test_report_template` and review the
diff.
"""

import ast
import fnmatch
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import polars as pl
import pytest
from lxml import etree

from dagster_project.report import kpi_history_svg, render_chart, render_report, table_html
from dagster_project.roadmap_report import cash_curve_svg
from tests.dagster_project.report_samples import HOSTILE, full_report_data

ROOT = Path(__file__).parents[2]
GOLDEN = Path(__file__).parents[1] / "data" / "report" / "full_report.html"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"


class _Events(HTMLParser):
    """Start tags with their attributes, end tags and whitespace-normalised text, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.events.append(("start", tag, tuple(sorted(attrs))))

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not text:
            return
        if self.events and self.events[-1][0] == "text":
            text = f"{self.events[-1][1]} {text}"
            self.events.pop()
        self.events.append(("text", text))


def page_events(text: str) -> list[tuple]:
    """What a browser sees of a page: elements, attribute values (unescaped) and text."""
    parser = _Events()
    parser.feed(text)
    parser.close()
    return parser.events


def test_the_page_is_the_one_the_string_builder_made() -> None:
    page = render_report(full_report_data())
    before = GOLDEN.read_text(encoding="utf-8")
    assert page_events(page) == page_events(before)
    # a fixed part of each kind, so the comparison above cannot pass on two empty lists
    tags = [e[1] for e in page_events(page) if e[0] == "start"]
    assert (tags.count("svg"), tags.count("section"), tags.count("img")) == (6, 20, 8)
    assert (tags.count("table"), tags.count("li")) == (10, 6)


def test_the_comparison_sees_a_changed_attribute_or_text() -> None:
    before = page_events(GOLDEN.read_text(encoding="utf-8"))
    page = render_report(full_report_data())
    assert page_events(page.replace('r="11"', 'r="12"', 1)) != before
    assert page_events(page.replace("Sourcing plan", "Sourcing  plan", 1)) == before
    assert page_events(page.replace("Sourcing plan", "Sourcing plans", 1)) != before


def test_names_with_markup_are_escaped_everywhere() -> None:
    page = render_report(full_report_data(HOSTILE))
    assert "<script" not in page
    # every occurrence of the name is the escaped one (tables, SVG titles, alt texts, notes)
    assert page.count("alert(1)") == page.count(ESCAPED) == 26
    events = page_events(page)
    assert not [e for e in events if e[0] == "start" and e[1] == "script"]
    assert f"<td>{ESCAPED}</td>" in page
    assert f'alt="process map of {ESCAPED}"' in page
    assert f"<figcaption>{ESCAPED}</figcaption>" in page
    assert ("text", f"Provider {HOSTILE} has no offer for hr") in events


def test_an_attribute_cannot_be_broken_out_of() -> None:
    name = 'x" onerror="alert(1)'
    page = render_report(full_report_data(name))
    images = [dict(e[2]) for e in page_events(page) if e[:2] == ("start", "img")]
    assert f"process map of {name}" in [i["alt"] for i in images]
    assert all("onerror" not in i for i in images)


def test_the_svg_charts_are_well_formed_xml_with_escaped_titles() -> None:
    data = full_report_data(HOSTILE)
    svg = etree.fromstring(kpi_history_svg(data.history, data.drift).encode())
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert titles.count(HOSTILE) == 4  # one line per KPI panel
    assert f"drift: {HOSTILE} rework_rate in 2025-06" in titles
    cash = etree.fromstring(cash_curve_svg(data.roadmap.cumulative, None).encode())
    assert cash.get("class") == "chart"
    assert not cash.findall("{http://www.w3.org/2000/svg}line[@class='payback']")


def test_table_html_escapes_headings_and_cells() -> None:
    html = table_html(pl.DataFrame({"a<b>_cost": [1.0], "name": ["<i>x</i>"]}))
    assert "<th>a&lt;b&gt; cost</th><th>name</th>" in html
    assert '<td class="num">€1</td><td>&lt;i&gt;x&lt;/i&gt;</td>' in html


def test_a_missing_chart_value_is_an_error_not_an_empty_attribute() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render_chart("waterfall", {"width": 860, "height": 380, "title": "t"})


# --------------------------------------------------------------------------- no markup in Python

_MARKUP = re.compile(r"<[A-Za-z/!]")


def markup_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant in Python source that holds an HTML/SVG tag."""
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _MARKUP.search(node.value)
    )


def test_the_checker_finds_markup_in_plain_and_f_strings() -> None:
    source = 'a = "<td>"\nb = f"<rect x={x}/>"\nc = "x < 3 and </p>"\nd = "a < b"\n'
    assert [line for line, _ in markup_literals(source)] == [1, 2, 3]


@pytest.mark.parametrize("module", ["report.py", "roadmap_report.py"])
def test_the_report_modules_build_no_markup(module: str) -> None:
    source = (ROOT / "dagster_project" / module).read_text(encoding="utf-8")
    assert markup_literals(source) == []


def test_the_templates_ship_with_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["dagster_project"]
    folder = ROOT / "dagster_project" / "templates"
    files = sorted(p.relative_to(folder.parent).as_posix() for p in folder.iterdir())
    assert "templates/report.html.j2" in files and "templates/report.css" in files
    assert [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)] == []


if __name__ == "__main__":
    GOLDEN.write_text(render_report(full_report_data()), encoding="utf-8")
