"""The ``edgequant`` command line. Each subcommand lives in its own module of this package and
exposes ``register(subparsers)``; add a module name to ``COMMANDS`` to add a command."""

from __future__ import annotations

import argparse
import importlib
import sys

#: Subcommand modules, in the order ``edgequant --help`` lists them.
COMMANDS = ["demo", "analyze", "sweep", "compress", "decompress", "profile", "train_pq"]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="edgequant",
        description="Quantize, compress and analyse neural networks for low-resource hardware.",
    )
    parser.add_argument("--version", action="version", version=f"edgequant {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}_command", __name__)
        except ModuleNotFoundError as error:
            if error.name and error.name.endswith(f"{name}_command"):
                continue  # command not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, PermissionError) as error:
        print(f"edgequant {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
