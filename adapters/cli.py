"""`opm-adapter`: the participant's command line, a thin shell over the adapter library.

One `_cmd_<name>` function per subcommand; each returns the exit status. Exit codes: 0 success,
1 the toolchain or the work failed, 2 bad usage (argparse's convention).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from adapters import conformance, sandbox, search
from adapters import plan as plan_file
from adapters import portfolio as portfolio_file
from adapters.drivers import CorpusError, Driver, driver_names, get_driver
from adapters.drivers.base import driver_class
from adapters.evaluate import (
    EvaluationReport,
    ProgramResult,
    apply_portfolio,
    corpus_programs,
    evaluate,
    evaluate_portfolio,
)
from adapters.measurements import MeasurementStore, cache_of
from adapters.plan import problem_toolchain
from adapters.portfolio import Portfolio
from adapters.toolchains import ToolchainUnavailable
from adapters.toolchains import cranelift as cranelift_toolchain
from adapters.toolchains import gcc as gcc_toolchain
from adapters.toolchains import llvm as llvm_toolchain

if TYPE_CHECKING:
    from adapters.keyfile import DeploymentKey

PROG = "opm-adapter"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by SIGINT
ENROLMENT_KEY_ENV = "OPM_ENROLMENT_KEY"  # the participant's enrolment key: an environment variable, never an argument
PROGRESS_MIN_PROGRAMS = 4  # fewer programs finish before a progress bar would tell anything


def _llvm_catalogue() -> dict[str, Any]:
    return {
        "toolchain": "llvm",
        "version": llvm_toolchain.llvm_version(),
        "passes": [info.as_json() for info in llvm_toolchain.pass_catalogue()],
    }


def _synthetic_catalogue() -> dict[str, Any]:
    """The default synthetic problem's passes (a driver built for another problem lists its own)."""
    return get_driver("synthetic").catalogue()


# Toolchain name -> function building its pass catalogue document; other drivers add theirs here.
CATALOGUES: dict[str, Callable[[], dict[str, Any]]] = {"llvm": _llvm_catalogue}
CATALOGUES["gcc"] = gcc_toolchain.catalogue_document
CATALOGUES["synthetic"] = _synthetic_catalogue
CATALOGUES["cranelift"] = cranelift_toolchain.catalogue


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
    return plan, _checked_driver(path, plan.toolchain, [("", plan)])


def _load_portfolio_and_driver(path: str) -> tuple[Portfolio, Driver]:
    """The portfolio file (a plan file counts as a portfolio of one) and its toolchain's driver."""
    portfolio = portfolio_file.load(path)
    members = [(f"members[{index}]: ", member) for index, member in enumerate(portfolio.members)]
    return portfolio, _checked_driver(path, portfolio.toolchain, members)


def _checked_driver(path: str, toolchain: str, plans: list[tuple[str, plan_file.Plan]]) -> Driver:
    """The toolchain's driver with every plan checked against it; a PlanError names the file and where in it."""
    try:
        driver = get_driver(toolchain)
    except KeyError as exc:
        raise plan_file.PlanError(f"{path}: {exc.args[0]}") from None
    for where, plan in plans:
        try:
            driver.check_plan(plan)
        except plan_file.PlanError as exc:
            raise plan_file.PlanError(f"{path}: {where}{exc}") from None
    return driver


def _cmd_apply(args: argparse.Namespace) -> int:
    """Run a plan, or a portfolio per module, on one program (C or IR) and write the object file."""
    output = Path(args.output)
    if not output.parent.is_dir():
        _error(f"-o {args.output}: the directory {output.parent} does not exist")
        return EXIT_USAGE
    if args.portfolio:
        portfolio, driver = _load_portfolio_and_driver(args.portfolio)
        applied = apply_portfolio(driver, portfolio, Path(args.input), output)
        measurement = applied.measurement
        for line in applied.failed_members:
            print(f"{PROG}: {args.input}: {line}", file=sys.stderr)
        winner = "the reference pipeline" if applied.member is None else f"member {applied.member}"
        kept = f", from {winner} (the portfolio has {len(portfolio.members)} member(s) and the reference)"
    else:
        plan, driver = _load_plan_and_driver(args.plan)
        measurement = driver.apply(plan, driver.prepare(Path(args.input)), output)
        kept = ""
        if not measurement.ok:
            _error(f"{args.input}: {measurement.verdict} ({measurement.detail})")
            return EXIT_FAILED
    ir = "" if measurement.ir_instructions is None else f", {measurement.ir_instructions} IR instructions"
    print(f"{args.output}: {measurement.text_bytes} bytes of code{ir}{kept}")
    return EXIT_OK


def _cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a plan or a portfolio over a local corpus against the reference; a table, or JSON with --json."""
    if args.portfolio:
        portfolio, driver = _load_portfolio_and_driver(args.portfolio)
        toolchain = portfolio.toolchain
    else:
        plan, driver = _load_plan_and_driver(args.plan)
        toolchain = plan.toolchain
    reference = args.reference or driver.references[0]
    if reference not in driver.references:
        known = ", ".join(driver.references)
        _error(f"--reference: {toolchain} has no reference {reference!r} (known: {known})")
        return EXIT_USAGE
    count = len(corpus_programs(Path(args.corpus), driver))
    store = MeasurementStore.for_driver(driver)
    with tqdm(total=count, unit="program", file=sys.stderr, leave=False, disable=count < PROGRESS_MIN_PROGRAMS) as bar:

        def advance(result: ProgramResult) -> None:
            bar.update(1)

        if args.portfolio:
            report = evaluate_portfolio(
                portfolio, Path(args.corpus), reference, args.jobs, driver=driver, progress=advance, store=store
            )
        else:
            report = evaluate(
                plan, Path(args.corpus), reference, args.jobs, driver=driver, progress=advance, store=store
            )
    if args.json:
        json.dump(report.as_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(report)
    return EXIT_OK


def _print_table(report: EvaluationReport) -> None:
    portfolio = report.kind == "portfolio"
    width = max([len("program"), *(len(result.program) for result in report.programs)])
    print(f"{'program':<{width}}  {'reference':>9}  {'kept' if portfolio else 'plan':>9}  {'ratio':>7}  verdict")
    for result in report.programs:
        reference_bytes = "-" if result.reference_bytes is None else str(result.reference_bytes)
        plan_bytes = "-" if result.plan_bytes is None else str(result.plan_bytes)
        ratio = "-" if result.ratio is None else f"{result.ratio:.4f}"
        verdict = result.verdict if result.ok or not result.detail else f"{result.verdict} ({result.detail})"
        if portfolio and result.ok:
            verdict += ": reference" if result.member is None else f": member {result.member}"
            if result.failed_members:
                verdict += f" ({result.failed_members} member(s) failed)"
        print(f"{result.program:<{width}}  {reference_bytes:>9}  {plan_bytes:>9}  {ratio:>7}  {verdict}")
    ok = len(report.programs) - report.failures
    mean = "-" if report.geomean_ratio is None else f"{report.geomean_ratio:.4f}"
    print(f"geometric mean ratio {mean} over {ok} ok programs (reference {report.reference}); {report.failures} failed")
    if portfolio:
        wins = report.wins()
        members = ", ".join(f"member {index} {count}" for index, count in enumerate(wins[1:]))
        print(f"modules kept from: reference {wins[0]}" + (f", {members}" if members else ""))


def _driver_or_usage(toolchain: str) -> Driver | None:
    """The toolchain's driver, or None after reporting an unknown name (a usage error)."""
    try:
        return get_driver(toolchain)
    except KeyError as exc:
        _error(exc.args[0])
        return None


def _cmd_search(args: argparse.Namespace) -> int:
    """Search plans on a local corpus with one of `search.STRATEGIES`; print the best plan and a summary."""
    driver = _driver_or_usage(args.toolchain)
    if driver is None:
        return EXIT_USAGE
    programs = corpus_programs(Path(args.corpus), driver)
    total = args.budget * (len(programs) if args.per_program else 1)
    if args.per_program:
        run: Callable[..., Any] = functools.partial(search.search_per_program, warm_start=args.warm_start)
    elif args.warm_start:
        _error("--warm-start needs --per-program (it seeds each program's search with the earlier programs' best)")
        return EXIT_USAGE
    else:
        run = search.search
    with tqdm(total=total, unit="plan", file=sys.stderr, leave=False) as bar:
        found = run(
            driver,
            programs,
            strategy=args.strategy,
            budget=args.budget,
            seed=args.seed,
            jobs=args.jobs,
            reference=args.reference,
            cache=cache_of(driver),
            progress=lambda _: bar.update(1),
        )
    if args.per_program:
        document = search.per_program_summary(found)
        plans = {Path(entry["program"]).stem: entry["plan"] for entry in document["programs"]}
    else:
        document = {"plan": found.best.plan.to_json(), "summary": found.summary()}
        plans = {"": document["plan"]}
    if args.output and plans:
        _write_plans(Path(args.output), plans, directory=args.per_program)
    if args.json:
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.per_program:
        _print_per_program(document)
    else:
        _print_search(document)
    if found.interrupted:
        print(f"{PROG}: interrupted: the plans above are the best found so far", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def _write_plans(output: Path, plans: dict[str, dict[str, Any]], *, directory: bool) -> None:
    """One plan file at `output`, or (per program) `output/<program>.json` for each program."""
    if directory:
        output.mkdir(parents=True, exist_ok=True)
    for name, document in plans.items():
        target = output / f"{name}.json" if directory else output
        target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _print_search(document: dict[str, Any]) -> None:
    summary = document["summary"]
    print(
        f"best plan {summary['plan'][:12]}: geometric-mean ratio {summary['geomean_ratio']:.4f} "
        f"vs {summary['reference']} ({summary['evaluations']} of {summary['budget']} evaluations, "
        f"{summary['failed_evaluations']} failed; {summary['programs_worse_than_reference']} of "
        f"{len(summary['programs'])} programs worse than the reference)"
    )
    _print_skipped(summary["skipped"])
    print(json.dumps(document["plan"], indent=2))


def _print_skipped(skipped: list[dict[str, str]]) -> None:
    for entry in skipped:
        print(f"skipped {entry['program']}: {entry['reason']}")


def _print_per_program(document: dict[str, Any]) -> None:
    width = max([len("program"), *(len(entry["program"]) for entry in document["programs"])])
    print(f"{'program':<{width}}  {'reference':>9}  {'best':>9}  {'ratio':>7}  plan")
    for entry in document["programs"]:
        plan = "reference (nothing better found)" if entry["fallback"] else search.describe(entry["plan"])
        print(
            f"{entry['program']:<{width}}  {entry['reference_bytes']:>9}  {entry['plan_bytes']:>9}  "
            f"{entry['ratio']:>7.4f}  {plan}"
        )
    _print_skipped(document["skipped"])
    summary = document["summary"]
    mean = "-" if summary["geomean_ratio"] is None else f"{summary['geomean_ratio']:.4f}"
    print(
        f"geometric mean ratio {mean}; {summary['improved_programs']} programs improved, "
        f"{summary['programs_worse_than_reference']} worse, {summary['skipped_programs']} skipped; "
        f"{summary['evaluations']} evaluations"
    )


def _cmd_conformance(args: argparse.Namespace) -> int:
    """Run the conformance harness on a toolchain's driver; exit 1 unless every check passed."""
    driver = _driver_or_usage(args.toolchain)
    if driver is None:
        return EXIT_USAGE
    report = conformance.run_conformance(driver, args.contract)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"sandbox: {report['sandbox']}")
        for check in report["checks"]:
            print(f"{'PASS' if check['passed'] else 'FAIL'}  {check['name']}: {check['detail']}")
        print(f"{report['contract']} {report['toolchain']}: {report['verdict']}")
    return EXIT_OK if report["verdict"] == "passed" else EXIT_FAILED


# --- working for a market: key files and the work loop ------------------------------------------------------
# The network client is imported by these commands only, so the local tools start without it.


NO_LOCAL_LIMIT = 10**18
"""The local record's limit without --local-epsilon, in nano-rho (rho 10^9): it records, it does not refuse."""


def _server_key_file(args: argparse.Namespace, path: str, risk: str) -> DeploymentKey | None:
    """The key file of a command that talks to the server, once the server's URL is acceptable; None after a
    one-line usage error."""
    from adapters import keyfile

    if not _server_url_ok(args, risk):
        return None
    try:
        return keyfile.load(path)
    except keyfile.KeyFileError as exc:
        _error(str(exc))
        return None


def _server_url_ok(args: argparse.Namespace, risk: str) -> bool:
    """An https:// server, or http:// with --insecure-http; otherwise a one-line usage error."""
    from urllib.parse import urlsplit

    url = urlsplit(args.server)
    if url.scheme not in ("http", "https") or not url.hostname:
        _error(f"--server {args.server!r}: expected an https URL such as https://market.example")
        return False
    if url.scheme == "http" and not args.insecure_http:
        _error(f"--server {args.server}: plain HTTP, so {risk}; use https:// (or --insecure-http in development)")
        return False
    return True


def _cmd_keygen(args: argparse.Namespace) -> int:
    """Create a deployment key file (mode 0600) and print its public key in hex for the operator to enrol."""
    from adapters import keyfile

    try:
        key = keyfile.generate(args.out)
    except (keyfile.KeyFileError, OSError) as exc:
        _error(str(exc))
        return EXIT_FAILED
    print(key.public_key_hex)
    print(
        f"{PROG}: wrote {args.out}; the operator enrols it with `manage.py deployments enrol --participant P "
        f"--release ID --public-key {key.public_key_hex}`; store the API key it prints with "
        f"`{PROG} keyfile set-api-key {args.out} KEY`",
        file=sys.stderr,
    )
    return EXIT_OK


def _cmd_keyfile_set_api_key(args: argparse.Namespace) -> int:
    """Store the API key the server issued at enrolment into the key file (`-` reads it from stdin)."""
    from adapters import keyfile

    try:
        key = keyfile.load(args.keyfile)
        key.api_key = keyfile.check_api_key(sys.stdin.readline() if args.key == "-" else args.key)
        key.save()
    except (keyfile.KeyFileError, OSError) as exc:
        _error(str(exc))
        return EXIT_FAILED
    print(f"{PROG}: stored the API key in {args.keyfile}", file=sys.stderr)
    return EXIT_OK


def _cmd_keyfile_rotate(args: argparse.Namespace) -> int:
    """Replace the deployment's signing key (and its API key): the old key signs the rotation statement naming
    the new one. The new key is written to KEYFILE.next first, so a lost answer never loses it."""
    import dataclasses

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from adapters import keyfile
    from adapters.sdk import ApiError, MarketClient

    key = _server_key_file(args, args.keyfile, "the API keys would travel unencrypted")
    if key is None:
        return EXIT_USAGE
    deployment = args.deployment or key.deployment
    if not key.api_key or deployment is None:
        _error(f"{args.keyfile} needs its API key and deployment id (--deployment ID) to rotate its signing key")
        return EXIT_USAGE
    pending = Path(f"{args.keyfile}.next")
    try:
        following = keyfile.create(
            dataclasses.replace(key, path=pending, signing_key=Ed25519PrivateKey.generate(), deployment=deployment)
        )
    except (keyfile.KeyFileError, OSError) as exc:
        _error(f"{exc} (a rotation whose answer was lost left it: check with the operator before removing it)")
        return EXIT_FAILED
    try:
        with MarketClient(args.server, key.api_key, verify=args.ca_bundle or True, timeout=args.timeout) as market:
            rotated = market.rotate_key(
                deployment, old_signing_key=key.signing_key, new_public_key=following.public_key
            )
    except ApiError as exc:
        if exc.status == 0 or exc.transient:
            _error(
                f"the rotation may or may not have happened ({exc}); the new key is kept in {pending}: if the "
                "server now refuses this key file's signatures, move it over the key file and store a new API key "
                "rotated with the enrolment key"
            )
        else:
            pending.unlink(missing_ok=True)
            _error(f"rotation refused: {exc}")
        return EXIT_FAILED
    following.path = Path(args.keyfile)
    following.api_key = keyfile.check_api_key(rotated["api_key"])
    following.save()
    pending.unlink(missing_ok=True)
    print(f"{PROG}: deployment {deployment} now signs with {following.public_key_hex}", file=sys.stderr)
    return EXIT_OK


def _cmd_keyfile_show(args: argparse.Namespace) -> int:
    """Print what a key file holds, without its secrets."""
    from adapters import keyfile

    try:
        key = keyfile.load(args.keyfile)
    except keyfile.KeyFileError as exc:
        _error(str(exc))
        return EXIT_FAILED
    print(f"public key: {key.public_key_hex}")
    print(f"deployment: {key.deployment if key.deployment is not None else 'not known (enrol, or pass --deployment)'}")
    print(f"API key: {'set (' + key.api_key.split('_')[1] + ')' if key.api_key else 'not set'}")
    print(f"market log: {key.log.vkey + ', last size ' + str(key.log.size) if key.log else 'not pinned yet'}")
    for handle, record in sorted(key.problems.items()):
        print(f"problem {handle}: n = {record.corpus_size}, commitment {record.commitment}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    """Work for a market server until stopped: lease tasks, evaluate them locally, submit signed signals."""
    import signal
    import threading

    from adapters import keyfile
    from adapters.privacy import PrivacyError, SpendRecord, local_rho_limit_nano
    from adapters.sdk import ApiError, MarketClient
    from adapters.work import DEFAULT_MIN_NOISE_MULTIPLIER, WorkLoop, WorkOptions

    key = _server_key_file(args, args.key_file, "the API key and the signals would travel unencrypted")
    if key is None:
        return EXIT_USAGE
    if not key.api_key:
        enrolment_key = os.environ.get(ENROLMENT_KEY_ENV, "")
        if not enrolment_key or args.release is None:
            _error(
                f"{args.key_file} has no API key: enrol with ${ENROLMENT_KEY_ENV} and --release ID, or store a key "
                f"with `{PROG} keyfile set-api-key`"
            )
            return EXIT_USAGE
        try:
            with MarketClient(
                args.server, enrolment_key, verify=args.ca_bundle or True, timeout=args.timeout
            ) as market:
                enrolled = market.enrol(release=args.release, public_key_hex=key.public_key_hex, label=args.label)
        except ApiError as exc:
            _error(f"enrolment failed: {exc}")
            return EXIT_FAILED
        key.api_key = keyfile.check_api_key(enrolled["api_key"])
        key.deployment = int(enrolled["id"])
        key.save()
        print(
            f"{PROG}: enrolled deployment {enrolled['id']} ({enrolled['participant']}/{enrolled['label']})",
            file=sys.stderr,
        )
    # The local spend record is always kept (under the key file by default); a limit applies with --local-epsilon.
    spend_path = Path(args.spend_file) if args.spend_file else Path(args.key_file).with_suffix(".spend.json")
    try:
        limit = (
            NO_LOCAL_LIMIT if args.local_epsilon is None else local_rho_limit_nano(args.local_epsilon, args.local_delta)
        )
        spend = SpendRecord.load(spend_path, limit)
    except PrivacyError as exc:
        _error(str(exc))
        return EXIT_USAGE
    floor = DEFAULT_MIN_NOISE_MULTIPLIER if args.min_noise_multiplier is None else args.min_noise_multiplier
    if not floor > 0:
        _error(f"--min-noise-multiplier {floor:g}: expected a number > 0")
        return EXIT_USAGE
    options = WorkOptions(
        corpus=Path(args.corpus),
        problem=args.problem,
        problem_class=args.problem_class,
        toolchain=args.toolchain or problem_toolchain(args.problem_class),
        reference=args.reference,
        jobs=args.jobs,
        lease_seconds=args.lease_seconds,
        once=args.once,
        max_tasks=args.max_tasks,
        idle_max=args.idle_max,
        min_noise_multiplier=floor,
        witness=not args.no_witness,
    )
    try:
        client = MarketClient(args.server, key.api_key, verify=args.ca_bundle or True, timeout=args.timeout)
    except ApiError as exc:
        _error(str(exc))
        return EXIT_USAGE
    loop = WorkLoop(client, key, options, spend=spend)

    def stop(signum: int, frame: object) -> None:
        if loop.stopping:  # a second signal: the operator will not wait for the server any longer
            raise KeyboardInterrupt
        loop.request_stop(signal.Signals(signum).name)

    # Signal handlers can only be installed from the main thread (not so when main() runs inside a test thread).
    numbers = (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ()
    previous = {number: signal.signal(number, stop) for number in numbers}
    try:
        with client:
            return loop.run()
    except KeyboardInterrupt:
        _error("aborted by a second signal: a leased task may stay leased until its lease expires")
        return 130
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _add_work_commands(commands: argparse._SubParsersAction) -> None:
    """`keygen`, `keyfile` and `run`: the commands that talk to a market server."""
    keygen = commands.add_parser(
        "keygen",
        help="create a deployment key file and print its public key",
        description="Write a new JSON key file (mode 0600) holding a fresh Ed25519 signing key and print the "
        "public key in hex, which the operator enrols with `manage.py deployments enrol`.",
    )
    keygen.add_argument("--out", required=True, metavar="KEYFILE", help="key file to create (never overwritten)")
    keygen.set_defaults(func=_cmd_keygen)

    keyfile_parser = commands.add_parser("keyfile", help="manage a deployment key file")
    keyfile_commands = keyfile_parser.add_subparsers(dest="keyfile_command", metavar="ACTION", required=True)
    set_api_key = keyfile_commands.add_parser("set-api-key", help="store the API key the enrolment printed")
    set_api_key.add_argument("keyfile", metavar="KEYFILE")
    set_api_key.add_argument("key", metavar="KEY", help="the API key (opm_<prefix>_<secret>), or - to read stdin")
    set_api_key.set_defaults(func=_cmd_keyfile_set_api_key)
    rotate = keyfile_commands.add_parser(
        "rotate",
        help="replace the deployment's signing key, proven by the old one (a new API key comes with it)",
        description="Generate a new Ed25519 key, sign the rotation statement naming the deployment and both keys "
        "with the current key, send it with the deployment's API key, and store the new signing and API keys.",
    )
    rotate.add_argument("keyfile", metavar="KEYFILE")
    rotate.add_argument("--server", required=True, metavar="URL", help="the market's base URL (https://...)")
    rotate.add_argument("--deployment", type=int, metavar="ID", help="the deployment's id (default: from KEYFILE)")
    rotate.add_argument("--ca-bundle", metavar="PEM", help="CA certificates to verify the server with")
    rotate.add_argument("--timeout", type=float, default=30.0, metavar="S", help="HTTP timeout per request")
    rotate.add_argument(
        "--insecure-http", action="store_true", help="allow an http:// server (development only: nothing is encrypted)"
    )
    rotate.set_defaults(func=_cmd_keyfile_rotate)
    show = keyfile_commands.add_parser("show", help="print the public key and state, without secrets")
    show.add_argument("keyfile", metavar="KEYFILE")
    show.set_defaults(func=_cmd_keyfile_show)

    run = commands.add_parser(
        "run",
        help="work for a market server: lease, evaluate locally, submit signed signals",
        description="Register the local corpus (its size and a salted commitment only), then lease tasks, "
        "evaluate each plan on the corpus, release a noised clipped mean and submit it signed. Per-program "
        "results never leave this machine. SIGINT/SIGTERM stop cleanly: a running task is reported "
        "`interrupted`. Exit 0 on a clean stop, 1 when work cannot go on.",
    )
    run.add_argument("--server", required=True, metavar="URL", help="the market's base URL (https://...)")
    run.add_argument("--key-file", required=True, metavar="KEYFILE", help="this deployment's key file")
    run.add_argument("--corpus", required=True, metavar="DIR", help="directory of the private programs")
    run.add_argument("--problem", required=True, metavar="HANDLE", help="opaque handle of this corpus")
    run.add_argument("--problem-class", required=True, metavar="CLASS", help="e.g. llvm/text-bytes")
    run.add_argument("--toolchain", metavar="NAME", help="driver that counts the corpus (default: CLASS's prefix)")
    run.add_argument(
        "--release", type=int, metavar="ID", help=f"enrol for this approved release (needs ${ENROLMENT_KEY_ENV})"
    )
    run.add_argument("--label", default="main", metavar="NAME", help="this deployment's name when enrolling")
    run.add_argument("--ca-bundle", metavar="PEM", help="CA certificates to verify the server with (private CA)")
    run.add_argument(
        "--spend-file",
        metavar="PATH",
        help="local record of privacy spent, checked before each task (default: KEYFILE with suffix .spend.json)",
    )
    run.add_argument(
        "--local-epsilon", type=float, metavar="E", help="this participant's own limit, epsilon (default: record only)"
    )
    run.add_argument(
        "--min-noise-multiplier",
        type=float,
        default=None,
        metavar="M",
        help="refuse tasks asking for less noise than this, whatever the server says (default 1)",
    )
    run.add_argument(
        "--no-witness",
        action="store_true",
        help="do not cosign the log's checkpoints (by default each checkpoint the adapter verified is cosigned "
        "with this deployment's key, so that others can see this participant vouches for the log)",
    )
    run.add_argument(
        "--insecure-http", action="store_true", help="allow an http:// server (development only: nothing is encrypted)"
    )
    run.add_argument("--local-delta", type=float, default=1e-6, metavar="D", help="... at delta (default 1e-6)")
    run.add_argument("--reference", metavar="KIND", help="reference build (default: the driver's first)")
    run.add_argument("--jobs", type=int, default=1, metavar="N", help="programs evaluated at once")
    run.add_argument("--lease-seconds", type=int, default=600, metavar="S", help="lease length (heartbeats renew it)")
    run.add_argument("--once", action="store_true", help="lease once, handle what came, then exit")
    run.add_argument("--max-tasks", type=_non_negative, metavar="N", help="exit after handling N tasks")
    run.add_argument("--idle-max", type=float, default=60.0, metavar="S", help="longest wait between empty leases")
    run.add_argument("--timeout", type=float, default=30.0, metavar="S", help="HTTP timeout per request")
    run.set_defaults(func=_cmd_run)


def _cmd_sync(args: argparse.Namespace) -> int:
    """Bring a local copy of a problem class's plan up to the market's version by applying its deltas."""

    from adapters import sync as delta_sync
    from adapters.delta import DeltaError
    from adapters.sdk import ApiError, MarketClient

    if not _server_url_ok(args, "the deltas could be altered in transit"):
        return EXIT_USAGE
    kind = "portfolio" if args.portfolio else "plan"
    try:
        state = delta_sync.load_state(args.state, args.problem_class, kind)
        client = MarketClient(args.server, verify=args.ca_bundle or True, timeout=args.timeout)
    except (delta_sync.SyncError, ApiError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    try:
        with client:
            synced = delta_sync.sync(client, state)
    except (ApiError, DeltaError, delta_sync.SyncError) as exc:
        _error(f"{exc}; {args.state} is unchanged")
        return EXIT_FAILED
    held = synced.held
    try:
        if args.plan_out:  # before the state: the state never claims a version the output file lacks
            delta_sync.write_atomic(Path(args.plan_out), json.dumps(held.to_json(), indent=2) + "\n")
        delta_sync.save_state(args.state, synced)
    except OSError as exc:
        _error(f"cannot write {exc.filename or args.state}: {exc.strerror or exc}")
        return EXIT_FAILED
    members = f", {len(synced.portfolio.members)} member(s)" if synced.portfolio is not None else ""
    print(
        f"problem class {synced.problem_class}: {'portfolio ' if args.portfolio else ''}version {state.version} -> "
        f"{synced.version} "
        f"({kind} {held.content_hash()[:12]}{members})"
    )
    return EXIT_OK


def _add_sync_command(commands: argparse._SubParsersAction) -> None:
    """`sync`: delta-sync a problem class's plan from a market server (public endpoints, no key file)."""
    sync_parser = commands.add_parser(
        "sync",
        help="update a local copy of a problem class's plan from the market's deltas",
        description="Load the state file (problem class, version k, plan; version 0, the toolchain's reference "
        "plan, if the file does not exist), fetch the deltas after k and apply them in order. A delta that does "
        "not apply (wrong parent plan, bad op, wrong result) stops the sync with exit 1 and leaves the state "
        "file as it was; otherwise the state file is replaced atomically.",
    )
    sync_parser.add_argument("--server", required=True, metavar="URL", help="the market's base URL (https://...)")
    sync_parser.add_argument("--problem-class", required=True, metavar="CLASS", help="e.g. llvm/text-bytes")
    sync_parser.add_argument("--state", required=True, metavar="FILE", help="state file (created if missing)")
    sync_parser.add_argument(
        "--portfolio",
        action="store_true",
        help="follow the class's portfolio (version 0: the empty portfolio) instead of its single plan",
    )
    sync_parser.add_argument(
        "--plan-out", "--portfolio-out", metavar="FILE", help="also write the current plan (or portfolio) file here"
    )
    sync_parser.add_argument("--ca-bundle", metavar="PEM", help="CA certificates to verify the server with")
    sync_parser.add_argument("--timeout", type=float, default=30.0, metavar="S", help="HTTP timeout per request")
    sync_parser.add_argument(
        "--insecure-http", action="store_true", help="allow an http:// server (development only: nothing is verified)"
    )
    sync_parser.set_defaults(func=_cmd_sync)


def _cmd_corpus_materialize(args: argparse.Namespace) -> int:
    """Compile one slice of a real C code base to a directory of IR modules; optionally measure its room."""
    from adapters import corpora

    try:
        index, count = corpora.parse_slice(args.slice)
    except ValueError as exc:
        _error(f"--slice: {exc}")
        return EXIT_USAGE
    total = len(corpora.slice_files(corpora.codebase(args.source).files(), index, count))
    with tqdm(total=total, unit="file", file=sys.stderr, leave=False, desc=f"{args.source} {index}/{count}") as bar:
        manifest = corpora.materialize(
            args.source, index, count, Path(args.directory), jobs=args.jobs, progress=lambda _: bar.update(1)
        )
    counts = manifest["counts"]
    skipped = ", ".join(f"{number} {reason}" for reason, number in counts["skipped"].items()) or "none"
    print(
        f"{args.directory}: {counts['compiled']} modules from slice {index}/{count} of {args.source} "
        f"({counts['slice']} of {counts['source_files']} files; skipped: {skipped})"
    )
    if args.room:
        return _report_room(args, [Path(args.directory) / entry["module"] for entry in manifest["files"]])
    return EXIT_OK


def _report_room(args: argparse.Namespace, modules: list[Path]) -> int:
    """Per-module search with `--room` evaluations on (a spread of) the slice's modules: the room a plan has."""
    driver = get_driver("llvm")
    chosen = modules[:: max(1, len(modules) // args.room_modules)][: args.room_modules] if modules else []
    if not chosen:
        print(f"room: no module to search in {args.directory}")
        return EXIT_OK
    with tqdm(total=args.room * len(chosen), unit="plan", file=sys.stderr, leave=False, desc="room") as bar:
        found = search.search_per_program(
            driver,
            chosen,
            strategy="local",
            budget=args.room,
            jobs=args.jobs,
            cache=cache_of(driver),
            progress=lambda _: bar.update(1),
        )
    summary = found.summary()["summary"]
    ratio = summary["geomean_ratio"]
    shown = "-" if ratio is None else f"{ratio:.4f} ({(1 - ratio) * 100:.1f}% below -Oz)"
    print(
        f"room in {args.source}: per-module search ({args.room} evaluations each, local strategy) on "
        f"{len(found.results)} of {len(modules)} modules: geometric mean {shown}; "
        f"{summary['improved_programs']} improved"
    )
    return EXIT_INTERRUPTED if found.interrupted else EXIT_OK


def _add_corpus_commands(commands: argparse._SubParsersAction) -> None:
    """`corpus materialize`: realistic private corpora for demos and benchmarks."""
    from adapters import corpora

    corpus_parser = commands.add_parser(
        "corpus", help="build corpora from real C projects (musl from ziglang, libraries from package sdists)"
    )
    corpus_commands = corpus_parser.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    sources = "; ".join(
        ["musl: ziglang's musl libc"]
        + [f"{p.name}: {p.package} {p.version} ({p.licence})" for p in corpora.PROJECTS.values()]
    )
    materialize = corpus_commands.add_parser(
        "materialize",
        help="compile one slice of a C code base to a directory of LLVM IR modules",
        description="Compile slice I of N (numbered from 1; files spread by a hash of their path, so slices are "
        "disjoint, cover the code base and are alike) to unoptimised .ll modules plus MANIFEST.<source>.json, "
        "listing the files skipped and why (does not compile here, data only, reference fails). A project's "
        "source distribution is fetched from the package index on first use, checked against a pinned "
        "SHA-256 and kept in the adapter cache. Several sources may share a directory; rerunning is "
        f"idempotent. The result is a corpus for `evaluate`. Sources: {sources}.",
    )
    materialize.add_argument(
        "--source", required=True, choices=(*corpora.SOURCES, *corpora.UNSUPPORTED), help="code base to slice"
    )
    materialize.add_argument("--slice", default="1/1", metavar="I/N", help="which slice, e.g. 1/4 (default: all)")
    materialize.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="files compiled at once (default: CPUs)"
    )
    materialize.add_argument(
        "--room",
        type=_non_negative,
        default=0,
        metavar="N",
        help="then search each module for N evaluations and report how far below -Oz it gets (default: no search)",
    )
    materialize.add_argument(
        "--room-modules",
        type=_positive,
        default=30,
        metavar="M",
        help="modules searched for --room (default 30, spread)",
    )
    materialize.add_argument("directory", metavar="DIR", help="output directory (new, empty, or holding slices)")
    materialize.set_defaults(func=_cmd_corpus_materialize)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each subcommand stores its handler as `func`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Participant tools for OpenPassMarket: inspect toolchains and work with pass plans.",
    )
    parser.add_argument(
        "--require-sandbox",
        action="store_true",
        help=f"refuse to run any compiler or test program without bubblewrap (same as {sandbox.SANDBOX_ENV}=require)",
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
        help="run a plan (or a portfolio) on one program and write the object file",
        description="Compile a C (.c) or LLVM IR (.ll) program with a plan's passes and knobs and write "
        "the object file; prints its code size. A plan gets no behavioural check (use evaluate); with "
        "--portfolio every member and the reference pipeline build the program, each object is verified "
        "(IR verifier, exported symbols, a differential run where there is a main) and the smallest "
        "verified one is written (ties: the earlier member, the reference first).",
    )
    apply_source = apply.add_mutually_exclusive_group(required=True)
    apply_source.add_argument("--plan", metavar="PLAN", help="plan file (JSON)")
    apply_source.add_argument(
        "--portfolio",
        metavar="FILE",
        help="portfolio file: build with every member and the reference, verify each, keep the smallest",
    )
    apply.add_argument("--input", required=True, metavar="FILE", help="program to compile (.c or .ll)")
    apply.add_argument("-o", "--output", required=True, metavar="OUT", help="object file to write")
    apply.set_defaults(func=_cmd_apply)

    evaluate_parser = commands.add_parser(
        "evaluate",
        help="measure a plan or a portfolio against the reference on a local corpus",
        description="Measure a plan on every program of a corpus directory: reference and plan code size, "
        "the verifier's verdict, and the geometric-mean size ratio; with --portfolio, each program's "
        "smallest verified build among the members and the reference, and which member it came from. "
        "Local only: nothing is sent.",
    )
    evaluate_source = evaluate_parser.add_mutually_exclusive_group(required=True)
    evaluate_source.add_argument("--plan", metavar="PLAN", help="plan file (JSON)")
    evaluate_source.add_argument(
        "--portfolio", metavar="FILE", help="portfolio file: each program keeps its smallest verified build"
    )
    evaluate_parser.add_argument(
        "--corpus", required=True, metavar="DIR", help="directory of programs (.c / .ll; .syn for synthetic)"
    )
    references = "; ".join(f"{name}: {', '.join(driver_class(name).references)}" for name in driver_names())
    evaluate_parser.add_argument(
        "--reference",
        default=None,
        metavar="KIND",
        help=f"reference build, by toolchain, the first the default ({references}). llvm Oz: default<Oz> "
        "through the same opt and llc; cc-Oz: the C compiler's own -Oz",
    )
    evaluate_parser.add_argument("--jobs", type=int, default=1, metavar="N", help="programs evaluated at once")
    evaluate_parser.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate_parser.set_defaults(func=_cmd_evaluate)

    search_parser = commands.add_parser(
        "search",
        help="search locally for a plan that beats the reference on a corpus",
        description="Search plans on a local corpus with a seeded strategy (reproducible: same seed, same "
        "plans) and print the best plan file and a summary. Local only: nothing is sent.",
    )
    search_parser.add_argument("--toolchain", required=True, metavar="NAME", help="toolchain whose driver to use")
    search_parser.add_argument("--corpus", required=True, metavar="DIR", help="directory of programs")
    search_parser.add_argument("--budget", required=True, type=_non_negative, metavar="N", help="plans to evaluate")
    search_parser.add_argument("--strategy", required=True, choices=search.STRATEGIES, help="how to propose plans")
    search_parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the strategy (default 0)")
    search_parser.add_argument(
        "--per-program",
        action="store_true",
        help="search each program separately (budget per program); a program keeps the reference if nothing beats it",
    )
    search_parser.add_argument(
        "--warm-start",
        type=_non_negative,
        default=0,
        metavar="K",
        help="with --per-program: first try the K best plans found on earlier programs (within the budget)",
    )
    search_parser.add_argument("--reference", metavar="KIND", help="reference pipeline (default: the driver's first)")
    search_parser.add_argument("--jobs", type=int, default=1, metavar="N", help="plans evaluated at once")
    search_parser.add_argument(
        "-o", "--output", metavar="PATH", help="write the best plan file here (--per-program: a directory)"
    )
    search_parser.add_argument("--json", action="store_true", help="print {plan, summary} (or per program) as JSON")
    search_parser.set_defaults(func=_cmd_search)

    conformance_parser = commands.add_parser(
        "conformance",
        help="check a toolchain's driver against the adapter contract",
        description="Run the conformance harness: schema-valid messages, deterministic builds, time limits, "
        "crashes reported as failures, and a verifier that rejects deliberately wrong code.",
    )
    conformance_parser.add_argument("--toolchain", required=True, metavar="NAME", help="toolchain to check")
    conformance_parser.add_argument(
        "--contract", default=conformance.ADAPTER_CONTRACT, metavar="NAME@VERSION", help="contract version to check"
    )
    conformance_parser.add_argument("--json", action="store_true", help="print the report as JSON")
    conformance_parser.set_defaults(func=_cmd_conformance)
    _add_work_commands(commands)
    _add_sync_command(commands)
    _add_corpus_commands(commands)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run `opm-adapter` with `argv` (default: the process arguments) and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: report the status instead of exiting
        if exc.code is None:
            return EXIT_OK
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.require_sandbox:
        os.environ[sandbox.SANDBOX_ENV] = "require"  # the environment, so worker processes insist too
    try:
        return args.func(args)
    except sandbox.SandboxUnavailable as exc:
        _error(str(exc))
        return EXIT_FAILED
    except plan_file.PlanError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except (CorpusError, ToolchainUnavailable) as exc:
        _error(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
