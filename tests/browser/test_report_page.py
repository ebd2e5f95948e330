"""`report.html` in headless Chromium: the charts render, offline."""

from pathlib import Path

import pytest


@pytest.mark.browser
@pytest.mark.slow
def test_report_renders_its_charts(browser, demo_home: Path, artifacts: Path) -> None:
    report = demo_home.parent / "results" / "report.html"
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    sizes = page.evaluate(
        "Array.from(document.querySelectorAll('svg.chart'))"
        ".map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; })"
    )
    assert len(sizes) == 5  # waterfall, tornado, Pareto, cumulative saving, KPI history
    assert all(w > 300 and h > 150 for w, h in sizes)
    maps = page.evaluate(
        "Array.from(document.querySelectorAll('figure.map img')).map(i => [i.alt, i.naturalWidth])"
    )
    # 9 process maps, the roadmap's Gantt chart and the landscape before and after.
    assert len(maps) == 12 and all(w > 0 for _, w in maps)
    assert {alt for alt, _ in maps} >= {
        "roadmap Gantt chart",
        "process landscape before: the status quo",
        "process landscape after: the plan",
    }
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
    page.emulate_media(media="print")
    page.screenshot(path=str(artifacts / "report_print.png"), full_page=True)
    context.close()
