"""The Dagster UI in headless Chromium shows the process maps of a materialized run."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui_server import running_ui


@pytest.fixture
def dagster_ui(demo_home: Path) -> Iterator[str]:
    """`bpo ui` (`dg dev`) on a free loopback port against the demo's Dagster home."""
    with running_ui(demo_home, demo_home / "dagster_dev.log") as url:
        yield url


@pytest.mark.browser
@pytest.mark.slow
def test_process_map_metadata_shows_an_image(browser, dagster_ui: str, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{dagster_ui}/assets/process_models")
    # A fresh DAGSTER_HOME first shows the "Join the Dagster community" dialog.
    page.get_by_text("Join the Dagster community").wait_for()
    page.get_by_role("button", name="Skip").click()
    show = page.get_by_text("[Show Markdown]").first
    show.click()
    image = page.locator("img[src^='data:image']").first
    image.wait_for(state="visible")
    page.wait_for_function(
        "() => { const i = document.querySelector(\"img[src^='data:image']\");"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert image.evaluate("i => i.naturalWidth") > 0
    page.screenshot(path=str(artifacts / "dagster_process_map.png"))
    page.close()
