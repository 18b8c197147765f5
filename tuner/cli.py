"""The ``tuner`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

import optim


def _version() -> str:
    try:
        return version("optim-tuner")
    except PackageNotFoundError:  # running from a source tree
        return "unknown"


def _describe(kind: str, names: list[str], lookup) -> str:
    lines = [f"{kind}:"]
    for name in names:
        cls = lookup(name)
        space = ", ".join(
            f"{h.name} {list(h.choices)}"
            if h.kind == "categorical"
            else f"{h.name} [{h.low:g}, {h.high:g}]{' log' if h.log else ''}"
            for h in cls.search_space
        )
        lines.append(f"  {name:<16} {cls.__name__:<20} {space or '-'}")
    return "\n".join(lines)


def _cmd_optimizers(args: argparse.Namespace) -> int:
    print(_describe("optimizers", optim.available_optimizers(), optim.optimizer_class))
    print(_describe("schedules", optim.available_schedules(), optim.schedule_class))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tuner`` command."""
    parser = argparse.ArgumentParser(
        prog="tuner", description="Find good optimizer settings for NumPy models."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser(
        "optimizers", help="list registered optimizers and schedules with their search ranges"
    )
    p.set_defaults(func=_cmd_optimizers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tuner`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
