"""A small Markdown report builder: headings, paragraphs, tables, images next to the file."""

from __future__ import annotations

import math
import pathlib


def _cell(value) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def format_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table of ``rows`` (dicts), columns in the given order."""
    if not rows:
        return "_(no rows)_"
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


class MarkdownReport:
    """Collects sections and writes ``<folder>/report.md``; images are saved beside it.

    Parameters
    ----------
    folder : path-like
        Created if needed; must be writable.
    title : str
    """

    def __init__(self, folder, title: str):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.parts = [f"# {title}\n"]

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"{'#' * level} {text}\n")

    def paragraph(self, text: str) -> None:
        self.parts.append(text.strip() + "\n")

    def table(self, rows: list[dict], columns: list[str] | None = None) -> None:
        self.parts.append(format_table(rows, columns) + "\n")

    def figure(self, figure, name: str, caption: str = "") -> pathlib.Path:
        """Save a matplotlib figure as ``name`` (PNG) beside the report and reference it."""
        path = self.folder / name
        figure.savefig(path, dpi=110, bbox_inches="tight")
        self.parts.append(f"![{caption or name}]({name})\n")
        return path

    def write(self) -> pathlib.Path:
        path = self.folder / "report.md"
        path.write_text("\n".join(self.parts), encoding="utf-8")
        return path
