"""Puts the tutorials (``notebooks/*.ipynb``) into the site with their outputs (``docs/tutorials/generated/``).

The notebooks are committed without outputs (``scripts/make_notebooks.py`` writes them; the test suite
executes them). So the site executes each one here, once, in a fresh kernel in a scratch folder
(as ``tests/python/notebooks`` does), and myst-nb renders the stored result without executing
anything itself. A notebook whose requirements (its ``"edgequant": {"requires": [...]}`` metadata,
e.g. torch) are not installed is shown without outputs under a note that says so; one that fails
fails the build. Results are cached by the notebook's bytes and the package version in
``docs/_build/notebook-cache`` so a rebuild does not re-execute unchanged notebooks.
``EDGEQUANT_DOCS_EXECUTE=0`` renders every notebook without outputs (the note says so too).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pathlib
import tempfile
import time

import nbformat

NOTE_NOT_RUN = ("This page shows the notebook **without outputs**: {reason}. "
                "Run it yourself with `jupyter lab notebooks/{name}`.")
NOTE_RUN = ("Executed when this site was built ({seconds:.0f} s, a fresh kernel); the notebook itself is "
            "committed without outputs and the test suite runs it (`tests/python/notebooks`).")


def _missing_requirements(notebook) -> list[str]:
    requires = notebook.metadata.get("edgequant", {}).get("requires", [])
    return [name for name in requires if importlib.util.find_spec(name) is None]


def _note(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(f":::{{note}}\n{text}\n:::")


def _execute(notebook) -> float:
    from nbclient import NotebookClient

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": scratch}}).execute()
    return time.perf_counter() - start


def render(source: pathlib.Path, cache_dir: pathlib.Path, execute: bool) -> tuple[nbformat.NotebookNode, str]:
    """The notebook to publish for ``source`` and how it was obtained ("executed", "cached", "not run: ...")."""
    import edgequant

    raw = source.read_bytes()
    key = hashlib.sha256(raw + edgequant.__version__.encode()).hexdigest()[:16]
    cached = cache_dir / f"{source.stem}-{key}.ipynb"
    if cached.exists():
        return nbformat.read(cached, as_version=4), "cached"
    notebook = nbformat.reads(raw.decode(), as_version=4)
    missing = _missing_requirements(notebook)
    if not execute or missing:
        reason = (f"it needs {', '.join(missing)}, not installed where this site was built" if missing
                  else "execution was turned off for this build (EDGEQUANT_DOCS_EXECUTE=0)")
        notebook.cells.insert(1, _note(NOTE_NOT_RUN.format(reason=reason, name=source.name)))
        return notebook, f"not run: {reason}"
    seconds = _execute(notebook)
    notebook.cells.insert(1, _note(NOTE_RUN.format(seconds=seconds)))
    cache_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, cached)
    return notebook, f"executed in {seconds:.1f} s"


def write_pages(notebooks: pathlib.Path, out_dir: pathlib.Path, cache_dir: pathlib.Path, execute: bool) -> dict:
    """Write the rendered notebooks into ``out_dir``; returns ``{name: how}``."""
    import concurrent.futures
    import multiprocessing

    out_dir.mkdir(parents=True, exist_ok=True)
    done = {}
    sources = sorted(notebooks.glob("*.ipynb"))
    # two at a time: each runs in its own kernel process, and a kernel spends much of its time waiting
    workers = max(1, min(2, os.cpu_count() or 1))
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        rendered = list(pool.map(render, sources, [cache_dir] * len(sources), [execute] * len(sources)))
    for source, (notebook, how) in zip(sources, rendered, strict=True):
        for cell in notebook.cells:  # ids as the source has them; myst-nb wants none missing
            cell.setdefault("metadata", {})
        target = out_dir / source.name
        text = nbformat.writes(notebook)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
        done[source.name] = how
    for stale in set(out_dir.glob("*.ipynb")) - {out_dir / name for name in done}:
        stale.unlink()
    return done


def _on_builder_inited(app):
    root = pathlib.Path(app.srcdir).parent
    execute = os.environ.get("EDGEQUANT_DOCS_EXECUTE", "1") != "0"
    shared = root.parent / "shared" / "data"  # the default lookup, for a kernel whose cwd is a scratch folder
    if "EDGEQUANT_DATA" not in os.environ and shared.is_dir():
        os.environ["EDGEQUANT_DATA"] = str(shared)
    done = write_pages(root / "notebooks", pathlib.Path(app.srcdir) / "tutorials" / "generated",
                       pathlib.Path(app.outdir).parent / "notebook-cache", execute)
    for name, how in done.items():
        print(f"[notebook_pages] {name}: {how}")


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
