"""The ``edgequant`` command line. Each subcommand lives in its own module of this package and
exposes ``register(subparsers)``; add a module name to ``COMMANDS`` to add a command.

Errors (see :mod:`.errors`): a command raises; :func:`main` prints one line on stderr and exits
2 for a usage error (argparse's, or :class:`~.errors.UsageError`) and 1 for anything else.
Warnings (NumPy's ``RuntimeWarning`` on a division by zero...) are held while the command runs:
a command that fails prints its one error line only, one that succeeds prints each distinct
warning as one line ``edgequant COMMAND: warning: ...`` (never Python's two lines with the source).
``EDGEQUANT_TRACEBACK=1`` shows the traceback and the warnings as Python prints them instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from .errors import USAGE_EXIT, UsageError, one_line, report

__all__ = ["COMMANDS", "UsageError", "build_parser", "main"]

#: Subcommand modules, in the order ``edgequant --help`` lists them.
COMMANDS = ["demo", "analyze", "sweep", "compress", "decompress", "profile", "export_c", "train_pq", "mpq"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the subcommands' parsers are of this class too)."""

    def error(self, message):
        self.exit(USAGE_EXIT, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``edgequant`` parser with one subparser per module of :data:`COMMANDS` (the docs render it)."""
    from .. import __version__

    parser = _Parser(
        prog="edgequant",
        description="Quantize, compress and analyse neural networks for low-resource hardware.",
    )
    parser.add_argument("--version", action="version", version=f"edgequant {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".{name}_command", __name__).register(subparsers)
    return parser


def main(argv=None) -> int:
    """Run ``edgequant ARGV``; returns the exit status (0 ok, 1 data error, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, usage errors: argparse has printed its line
        return stop.code if isinstance(stop.code, int) else USAGE_EXIT
    if not getattr(args, "handler", None):
        parser.print_help()
        return USAGE_EXIT
    if os.environ.get("EDGEQUANT_TRACEBACK"):  # for debugging edgequant itself
        return int(args.handler(args) or 0)
    with warnings.catch_warnings(record=True) as caught:  # the filters stay: only how a warning is shown changes
        try:
            status = int(args.handler(args) or 0)
        except (Exception, KeyboardInterrupt) as error:  # every error is one line, never a traceback
            return report(args.command, error)
    for message in dict.fromkeys(one_line(str(warning.message)) for warning in caught):
        print(f"edgequant {args.command}: warning: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
