"""Checks of a built documentation site: its internal links, and what headless Chromium shows of a page.

Used by the tests beside this file (run by ``make docs-check`` after ``make docs``).
"""

from __future__ import annotations

import html.parser
import pathlib
import shutil
import subprocess
import urllib.parse

import numpy as np


class _LinksAndIds(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("name"):
            self.ids.add(attributes["name"])
        for key in ("href", "src"):
            if attributes.get(key) and not (tag == "link" and key == "href" and "stylesheet" not in str(attrs)):
                self.links.append(attributes[key])


def _parse(page: pathlib.Path) -> _LinksAndIds:
    parser = _LinksAndIds()
    parser.feed(page.read_text(errors="replace"))
    return parser


def broken_internal_links(site: pathlib.Path) -> list[str]:
    """Every relative link of every HTML page of ``site`` whose file, or whose ``#anchor`` in it, is missing."""
    pages = sorted(site.rglob("*.html"))
    parsed = {page: _parse(page) for page in pages}
    broken = []
    for page, content in parsed.items():
        for link in content.links:
            target = urllib.parse.urlsplit(link)
            if target.scheme or target.netloc or link.startswith(("mailto:", "data:", "javascript:")):
                continue
            path = (page.parent / urllib.parse.unquote(target.path)).resolve() if target.path else page
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                broken.append(f"{page.relative_to(site)}: {link} (no such file)")
                continue
            if target.fragment and path.suffix == ".html":
                ids = parsed[path].ids if path in parsed else _parse(path).ids
                if urllib.parse.unquote(target.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {link} (no such anchor)")
    return broken


def chromium() -> str | None:
    """The Chromium executable (Debian's ``chromium``), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run_chromium(arguments: list[str]) -> subprocess.CompletedProcess:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--hide-scrollbars", "--window-size=1280,900", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def rendered_dom(page: pathlib.Path) -> str:
    """The page's DOM after Chromium has loaded it (scripts run), as ``--dump-dom`` prints it."""
    result = _run_chromium(["--dump-dom", page.resolve().as_uri()])
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(page: pathlib.Path, png: pathlib.Path) -> np.ndarray:
    """A 1280x900 screenshot of the page, saved to ``png``; returns its pixels (H, W, 3) uint8."""
    from PIL import Image

    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    result = _run_chromium([f"--screenshot={png}", page.resolve().as_uri()])
    assert png.exists(), f"chromium wrote no screenshot: {result.stderr[-2000:]}"
    return np.asarray(Image.open(png).convert("RGB"))


def looks_rendered(pixels: np.ndarray) -> list[str]:
    """Why a screenshot does not look like a rendered page (empty list: it does).

    A rendered page of this site has dark text on a light background over much of the window, and more
    than a few colours (the sidebar, links, code blocks); a blank or nearly blank page has neither.
    """
    problems = []
    grey = pixels.mean(axis=2)
    dark_fraction = float((grey < 128).mean())
    if dark_fraction < 0.005:
        problems.append(f"almost no dark (text) pixels: {dark_fraction:.4f} of the window")
    colours = len(np.unique(pixels.reshape(-1, 3)[::7], axis=0))
    if colours < 20:
        problems.append(f"only {colours} distinct colours")
    if float(grey.std()) < 5:
        problems.append(f"nearly uniform image (grey std {grey.std():.1f})")
    return problems
