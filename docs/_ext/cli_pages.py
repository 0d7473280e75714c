"""Writes the command-line reference (``docs/cli/generated/``) from the argparse parsers at build time.

One page per subcommand of ``edgequant`` (the names come from :func:`edgequant.cli.build_parser`, so a
new command gets its page), each rendered by sphinx-argparse from that same parser: options,
defaults and help texts cannot drift from the code. ``edgequant-run`` is a native program, not
argparse: its page is its own ``--help`` output, captured at build time.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys


def _escaped(text):
    """``text`` with reST's substitution markers escaped: help texts say ``|x|`` and mean it literally."""
    return text.replace("|", "\\|") if isinstance(text, str) else text


def documented_parser() -> argparse.ArgumentParser:
    """:func:`edgequant.cli.build_parser`'s parser, its help texts escaped for reST (what the pages render)."""
    from edgequant.cli import build_parser

    def escape(parser):
        parser.description, parser.epilog = _escaped(parser.description), _escaped(parser.epilog)
        for action in parser._actions:
            action.help = _escaped(action.help)
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    choice.help = _escaped(choice.help)
                for subparser in action.choices.values():
                    escape(subparser)
        return parser

    return escape(build_parser())


def subcommands() -> list[str]:
    """The subcommand names of ``edgequant``, in ``edgequant --help``'s order."""
    from edgequant.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def _command_page(name: str) -> str:
    title = f"``edgequant {name}``"
    return "\n".join([
        f".. _cli-{name}:", "", title, "=" * len(title), "",
        ".. argparse::", "   :module: cli_pages", "   :func: documented_parser", "   :prog: edgequant",
        f"   :path: {name}", "",
    ])


def _run_help() -> str:
    candidates = [pathlib.Path(sys.executable).parent / "edgequant-run", shutil.which("edgequant-run")]
    program = next((str(c) for c in candidates if c and pathlib.Path(c).is_file()), None)
    title = "``edgequant-run``"
    lines = [".. _cli-edgequant-run:", "", title, "=" * len(title), "",
             "The native engine alone, no Python (installed beside ``edgequant``): it loads an ONNX model, "
             "runs it ``--runs`` times and prints the latency. Its ``--help``, captured when this page was built:",
             ""]
    if program is None:
        lines += ["(``edgequant-run`` was not installed where this site was built.)", ""]
        return "\n".join(lines)
    result = subprocess.run([program, "--help"], capture_output=True, text=True, timeout=60)
    lines += [".. code-block:: text", ""]
    lines += ["   " + line for line in (result.stdout + result.stderr).strip().splitlines()]
    return "\n".join(lines + [""])


def write_pages(out_dir: pathlib.Path) -> list[str]:
    """Write the pages into ``out_dir``; returns the subcommand names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = subcommands()
    pages = {f"{name}.rst": _command_page(name) for name in names}
    pages["edgequant-run.rst"] = _run_help()
    for stale in set(out_dir.glob("*.rst")) - {out_dir / page for page in pages}:
        stale.unlink()
    for page, text in pages.items():
        path = out_dir / page
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return names


def _on_builder_inited(app):
    names = write_pages(pathlib.Path(app.srcdir) / "cli" / "generated")
    print(f"[cli_pages] {len(names)} commands: {' '.join(names)}")


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
