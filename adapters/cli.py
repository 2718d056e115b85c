"""`opm-adapter`: the participant's command line, a thin shell over the adapter library.

One `_cmd_<name>` function per subcommand; each returns the exit status. Exit codes: 0 success,
1 the toolchain or the work failed, 2 bad usage (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from adapters.toolchains import ToolchainUnavailable
from adapters.toolchains import llvm as llvm_toolchain

PROG = "opm-adapter"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _llvm_catalogue() -> dict[str, Any]:
    return {
        "toolchain": "llvm",
        "version": llvm_toolchain.llvm_version(),
        "passes": [info.as_json() for info in llvm_toolchain.pass_catalogue()],
    }


# Toolchain name -> function building its pass catalogue document; other drivers add theirs here.
CATALOGUES: dict[str, Callable[[], dict[str, Any]]] = {"llvm": _llvm_catalogue}


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _cmd_passes(args: argparse.Namespace) -> int:
    """Print a toolchain's pass catalogue as one JSON document."""
    build = CATALOGUES.get(args.toolchain)
    if build is None:
        _error(f"unknown toolchain {args.toolchain!r} (known: {', '.join(sorted(CATALOGUES))})")
        return EXIT_USAGE
    try:
        document = build()
    except ToolchainUnavailable as exc:
        _error(str(exc))
        return EXIT_FAILED
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each subcommand stores its handler as `func`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Participant tools for OpenPassMarket: inspect toolchains and work with pass plans.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    passes = commands.add_parser(
        "passes",
        help="print a toolchain's pass catalogue as JSON",
        description="Print the passes a toolchain can run, with parameters, a parameter JSON Schema "
        "and a description, as one JSON document on stdout.",
    )
    passes.add_argument(
        "--toolchain",
        required=True,
        metavar="NAME",
        help=f"toolchain to describe (one of: {', '.join(sorted(CATALOGUES))})",
    )
    passes.set_defaults(func=_cmd_passes)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `opm-adapter` with `argv` (default: the process arguments) and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: report the status instead of exiting
        if exc.code is None:
            return EXIT_OK
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader went away (`| head`): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
