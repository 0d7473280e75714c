"""The built documentation site (``make docs``): internal links resolve, and pages render in headless Chromium.

Skipped unless ``docs/_build/html`` exists (``make docs`` builds it); ``make docs-check`` sets
``EDGEQUANT_REQUIRE_DOCS=1``, which turns a missing site or a missing Chromium into a failure. Screenshots
go to ``build/docs-screenshots/`` for a person to look at.
"""

import os
import pathlib

import numpy as np
import pytest
from site_checks import broken_internal_links, chromium, looks_rendered, rendered_dom, screenshot

ROOT = pathlib.Path(__file__).resolve().parents[3]
SITE = ROOT / "docs" / "_build" / "html"
SCREENSHOTS = ROOT / "build" / "docs-screenshots"
REQUIRED = os.environ.get("EDGEQUANT_REQUIRE_DOCS") == "1"

#: page -> texts its rendered DOM must hold (title, navigation, content only that page has)
PAGES = {
    "index.html": ["edgequant", "Getting started", "API reference", "Command-line reference", "quantizes, compresses"],
    "api/generated/edgequant.quantizers.html": ["edgequant.quantizers", "API reference", "Deadzone", "Parameters"],
    "tutorials/generated/02_rate_distortion.html": ["Tutorials", "API reference"],
}


def _need(condition: bool, reason: str):
    if not condition:
        if REQUIRED:
            pytest.fail(f"EDGEQUANT_REQUIRE_DOCS=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def site():
    _need((SITE / "index.html").exists(), f"no built site in {SITE} (make docs)")
    return SITE


@pytest.fixture(scope="module")
def browser(site):
    _need(chromium() is not None, "chromium is not installed (scripts/install_system_deps.sh chromium)")
    return chromium()


def test_every_internal_link_resolves(site):
    broken = broken_internal_links(site)
    assert not broken, f"{len(broken)} broken internal links, e.g.:\n" + "\n".join(broken[:20])


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_with_title_and_navigation(site, browser, page):
    dom = rendered_dom(site / page)
    missing = [text for text in PAGES[page] if text not in dom]
    assert not missing, f"{page}: the rendered DOM lacks {missing}"
    assert "ERR_FILE_NOT_FOUND" not in dom and "This site can" not in dom  # Chromium's error page
    assert 'class="sidebar-tree"' in dom  # the navigation (Furo's sidebar) is there
    pixels = screenshot(site / page, SCREENSHOTS / page.replace("/", "_").replace(".html", ".png"))
    assert pixels.shape[:2] == (900, 1280)
    problems = looks_rendered(pixels)
    assert not problems, f"{page}: the screenshot does not look rendered: {problems}"


def test_the_screenshot_check_rejects_a_blank_page(browser, tmp_path):
    """The pixel check can fail: a page with nothing on it is not taken for a rendered one."""
    blank = tmp_path / "blank.html"
    blank.write_text("<html><head><title>edgequant</title></head><body></body></html>")
    assert looks_rendered(screenshot(blank, tmp_path / "blank.png"))
    assert looks_rendered(np.full((900, 1280, 3), 255, np.uint8))


def test_the_link_check_finds_a_broken_link(tmp_path):
    (tmp_path / "index.html").write_text('<a href="api.html#edgequant.Engine">x</a><a href="gone.html">y</a>'
                                         '<p id="here"></p><a href="#here">z</a>')
    (tmp_path / "api.html").write_text('<dt id="edgequant.engine.Engine"></dt>')
    assert sorted(broken_internal_links(tmp_path)) == ["index.html: api.html#edgequant.Engine (no such anchor)",
                                                        "index.html: gone.html (no such file)"]
