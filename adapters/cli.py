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
from pathlib import Path
from typing import Any

from tqdm import tqdm

from adapters import plan as plan_file
from adapters.drivers import CorpusError, Driver, get_driver
from adapters.drivers.llvm import REFERENCES
from adapters.evaluate import EvaluationReport, ProgramResult, corpus_programs, evaluate
from adapters.toolchains import ToolchainUnavailable
from adapters.toolchains import llvm as llvm_toolchain

PROG = "opm-adapter"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROGRESS_MIN_PROGRAMS = 4  # fewer programs finish before a progress bar would tell anything


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


def _load_plan_and_driver(path: str) -> tuple[plan_file.Plan, Driver]:
    """The plan file and its toolchain's driver, the plan checked against the toolchain."""
    plan = plan_file.load(path)
    try:
        driver = get_driver(plan.toolchain)
    except KeyError as exc:
        raise plan_file.PlanError(f"{path}: {exc.args[0]}") from None
    try:
        driver.check_plan(plan)
    except plan_file.PlanError as exc:
        raise plan_file.PlanError(f"{path}: {exc}") from None
    return plan, driver


def _cmd_apply(args: argparse.Namespace) -> int:
    """Run a plan on one program (C or IR) and write the object file."""
    plan, driver = _load_plan_and_driver(args.plan)
    measurement = driver.apply(plan, driver.prepare(Path(args.input)), Path(args.output))
    if not measurement.ok:
        _error(f"{args.input}: {measurement.verdict} ({measurement.detail})")
        return EXIT_FAILED
    print(f"{args.output}: {measurement.text_bytes} bytes of code, {measurement.ir_instructions} IR instructions")
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a plan over a local corpus against the reference; a table, or JSON with --json."""
    plan, driver = _load_plan_and_driver(args.plan)
    count = len(corpus_programs(Path(args.corpus), driver))
    with tqdm(total=count, unit="program", file=sys.stderr, leave=False, disable=count < PROGRESS_MIN_PROGRAMS) as bar:

        def advance(result: ProgramResult) -> None:
            bar.update(1)

        report = evaluate(plan, Path(args.corpus), args.reference, args.jobs, driver=driver, progress=advance)
    if args.json:
        json.dump(report.as_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(report)
    return EXIT_OK


def _print_table(report: EvaluationReport) -> None:
    width = max([len("program"), *(len(result.program) for result in report.programs)])
    print(f"{'program':<{width}}  {'reference':>9}  {'plan':>9}  {'ratio':>7}  verdict")
    for result in report.programs:
        plan_bytes = "-" if result.plan_bytes is None else str(result.plan_bytes)
        ratio = "-" if result.ratio is None else f"{result.ratio:.4f}"
        verdict = result.verdict if result.ok or not result.detail else f"{result.verdict} ({result.detail})"
        print(f"{result.program:<{width}}  {result.reference_bytes:>9}  {plan_bytes:>9}  {ratio:>7}  {verdict}")
    ok = len(report.programs) - report.failures
    mean = "-" if report.geomean_ratio is None else f"{report.geomean_ratio:.4f}"
    print(f"geometric mean ratio {mean} over {ok} ok programs (reference {report.reference}); {report.failures} failed")


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

    apply = commands.add_parser(
        "apply",
        help="run a plan on one program and write the object file",
        description="Compile a C (.c) or LLVM IR (.ll) program with a plan's passes and knobs and write "
        "the object file; prints its code size. No behavioural check (use evaluate).",
    )
    apply.add_argument("--plan", required=True, metavar="PLAN", help="plan file (JSON)")
    apply.add_argument("--input", required=True, metavar="FILE", help="program to compile (.c or .ll)")
    apply.add_argument("-o", "--output", required=True, metavar="OUT", help="object file to write")
    apply.set_defaults(func=_cmd_apply)

    evaluate_parser = commands.add_parser(
        "evaluate",
        help="measure a plan against the reference on a local corpus",
        description="Measure a plan on every program of a corpus directory: reference and plan code size, "
        "the verifier's verdict, and the geometric-mean size ratio. Local only: nothing is sent.",
    )
    evaluate_parser.add_argument("--plan", required=True, metavar="PLAN", help="plan file (JSON)")
    evaluate_parser.add_argument("--corpus", required=True, metavar="DIR", help="directory of .c / .ll programs")
    evaluate_parser.add_argument(
        "--reference",
        default="Oz",
        choices=REFERENCES,
        help="Oz: default<Oz> through the same opt and llc (default); cc-Oz: the C compiler's own -Oz",
    )
    evaluate_parser.add_argument("--jobs", type=int, default=1, metavar="N", help="programs evaluated at once")
    evaluate_parser.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate_parser.set_defaults(func=_cmd_evaluate)
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
    except plan_file.PlanError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except (CorpusError, ToolchainUnavailable) as exc:
        _error(str(exc))
        return EXIT_FAILED
    except BrokenPipeError:  # the reader went away (`| head`): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
