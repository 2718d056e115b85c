"""`manage.py demo`: the main job run by `bash run.sh` (docs/design.md §8).

On the database it is given, for real: the board approves an adapter release after its conformance run passes
and activates the policies; four participants, each with a private corpus (disjoint musl slices, or synthetic
variants with `--quick`), run real `opm-adapter run` processes against the site served over TLS on a free
port; the orchestrator searches the public corpus for free and spends private budget only to choose among
its shortlist and to confirm the winner; then the ledger is exported, verified and backtested.
"""

import json
import math
import secrets
import shutil
import sys
import time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from adapters.contract import build_manifest
from adapters.corpus import SUBSETS
from adapters.corpus import programs as corpus_programs
from adapters.drivers import get_driver
from adapters.evaluate import evaluate_portfolio
from adapters.measurements import MeasurementStore
from adapters.plan import problem_toolchain
from adapters.search import describe
from governance import selectors as governance_selectors
from governance import services as governance_services
from governance.log_key import operator_signer
from governance.models import Policy, PolicyStatus
from governance.policy_schemas import DEFAULT_DOCUMENTS
from opm_site.errors import OpmError
from orchestration import federation, selectors
from orchestration.models import LocalProblem, Participant, PortfolioDelta
from orchestration.orchestrator import RoundSettings, run_portfolio_round
from orchestration.public_corpus import public_corpus
from orchestration.selectors import portfolio_current
from orchestration.services import participant_create, participant_key_issue
from registry import selectors as registry_selectors
from registry.contract_defs import ADAPTER_CONTRACT_NAME, ADAPTER_CONTRACT_SCHEMAS, ADAPTER_CONTRACT_VERSION
from registry.models import AdapterRelease, Contract, ContractStatus, ReleaseState
from registry.services import contract_create, release_submit

BOARD = ["ada", "barbara", "grace", "frances"]
OPERATOR = "operator"
PARTICIPANTS = ["acme", "globex", "initech", "umbrella"]
VENDOR = "OpenPassMarket Labs"
# epsilon = 1 per participant at the smallest multiplier the accountant's benchmark settled on (m >= 15), about
# eight releases each. A release's signal-to-noise ratio is the corpus's summed gain over m * c: a second
# member's marginal gain is under 1% on most modules it helps, so the board clips each module's log gain at
# 0.5%, which keeps most of that sum and a quarter of the noise of c = 2%. A member never makes a module larger,
# so any gain clearing zero at 95% confidence is worth its build time: the margin is small.
PRIVACY = {**DEFAULT_DOCUMENTS["privacy"], "epsilon": 1.0, "clip_bound": 0.005, "min_noise_multiplier": 15.0}
ORCHESTRATION = {
    **DEFAULT_DOCUMENTS["orchestration"],
    "min_margin": 0.0002,
    # The public ranking picks each round's candidate and private releases only confirm it: at epsilon = 1 that
    # confirms about twice as many members as a private selection among two (benchmarks/portfolio.py).
    "shortlist_size": 1,
    "public_budget": 24,
    "portfolio_size": 8,
    "pool_budget": 30,
    "pool_strategy": "local",
}
QUICK_ORCHESTRATION = {**ORCHESTRATION, "public_budget": 40, "pool_budget": 8, "pool_strategy": "random"}
# Each participant holds a mix of real projects, as companies do (source, slice); one project is held back.
HOLDINGS = {
    "acme": (("brotli", "1/1"), ("zopfli", "1/1"), ("lzma", "1/1")),
    "globex": (("lua", "1/1"), ("cmark", "1/1"), ("hoedown", "1/1")),
    "initech": (("pycryptodome", "1/1"), ("ed25519", "1/1"), ("argon2", "1/1")),
    "umbrella": (("zstd", "1/1"), ("zlib", "1/1"), ("hiredis", "1/1"), ("ppmd", "1/1")),
}
HELD_BACK = (("chipmunk", "1/1"),)
PUBLIC_SUBSETS = ("alpha", "beta")  # searched for free; gamma and delta stay unseen for the report
SYNTHETIC_N = 250


def _credentials(path: Path, usernames: list[str]) -> dict[str, str]:
    """Demo passwords, generated once and kept outside git (mode 0600) so re-runs print the same ones."""
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in usernames if name not in known]
    if missing:
        known.update({name: secrets.token_urlsafe(12) for name in missing})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
    return known


class Command(BaseCommand):
    help = "Run the OpenPassMarket demo: board decisions, a federated search by four real adapters, a backtest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quick", action="store_true", help="The synthetic toolchain (under a minute).")
        parser.add_argument(
            "--no-federation", action="store_true", help="Only the board, the governance decisions and the login."
        )
        parser.add_argument(
            "--skip-passes", action="store_true", help="Do not sync the LLVM pass catalogue (offline tests)."
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=6,
            help="At most this many portfolio rounds (default 6); rounds stop earlier when the portfolio is full, "
            "budgets run out or no untried pool plan adds to the portfolio on public code.",
        )
        parser.add_argument(
            "--strategy", default="greedy", help="Recorded with each round; the pool search uses the policy's."
        )
        parser.add_argument("--seed", type=int, default=2026, help="Seed of the first round (recorded in the ledger).")

    def handle(self, *args, quick: bool, no_federation: bool, skip_passes: bool, **options) -> None:
        started = time.monotonic()
        toolchain = "synthetic" if quick else "llvm"
        self.heading(f"1. The {toolchain} pass catalogue, read from the toolchain itself")
        if not skip_passes or quick:
            call_command("passes", "sync", "--toolchain", toolchain, stdout=self.stdout, stderr=self.stderr)

        self.heading("2. The governance board and the operator")
        passwords = _credentials(Path(settings.VAR_DIR) / "demo-credentials.json", [*BOARD, OPERATOR])
        for name in BOARD:
            _, created = governance_services.board_member_ensure(
                username=name, password=passwords[name], email=f"{name}@board.example"
            )
            self.stdout.write(f"  board member {name:10} {'created' if created else 'ready'}")
        operator, created = governance_services.operator_ensure(username=OPERATOR, password=passwords[OPERATOR])
        self.stdout.write(f"  operator     {OPERATOR:10} {'created' if created else 'ready'} (superuser)")

        self.heading("3. Governance: quorum votes, every step in the ledger")
        self._governance(operator, QUICK_ORCHESTRATION if quick else ORCHESTRATION)

        if not no_federation:
            self._federation(toolchain, quick, options)

        self.heading("What exists")
        for app_label in ("registry", "governance", "orchestration"):
            counts = ", ".join(
                f"{model._meta.verbose_name_plural}: {model.objects.count()}"
                for model in apps.get_app_config(app_label).get_models()
            )
            self.stdout.write(f"  {app_label}: {counts}")
        by_toolchain = registry_selectors.pass_counts_by_toolchain()
        self.stdout.write(f"  pass catalogue: {by_toolchain or 'empty'}")
        call_command("ledger", "verify", "--no-progress", stdout=self.stdout, stderr=self.stderr)

        self.heading("Log in")
        self.stdout.write(
            "  Start the site with `bash run.sh serve`, then open https://127.0.0.1:8443/ for the public pages "
            "(markets, rounds, privacy, governance, the log) and https://127.0.0.1:8443/admin/ for the board "
            "(a self-signed certificate: var/tls/cert.pem)"
        )
        for name in [*BOARD, OPERATOR]:
            self.stdout.write(f"    {name:10} {passwords[name]}")
        self.stdout.write(f"  (passwords are kept in {Path(settings.VAR_DIR) / 'demo-credentials.json'})")
        self.stdout.write(self.style.SUCCESS(f"Demo finished in {time.monotonic() - started:.0f} s."))

    def heading(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(text))

    # --- governance ---------------------------------------------------------------------------------------

    def _governance(self, operator, orchestration: dict) -> None:
        """Bootstrap quorum rules, then let the board approve the adapter contract and the first policies."""
        users = {u.username: u for u in get_user_model().objects.filter(username__in=BOARD)}
        self.proposer, self.voters = users[BOARD[0]], [users[name] for name in BOARD[1:]]
        if governance_selectors.policy_active(kind="governance") is None:
            governance_services.policy_bootstrap(document=DEFAULT_DOCUMENTS["governance"], operator=operator)
            self.stdout.write("  governance policy v1 bootstrapped by the operator: quorum 3, 2/3 yes, 7 days")
        contract = Contract.objects.filter(name=ADAPTER_CONTRACT_NAME, version=ADAPTER_CONTRACT_VERSION).first()
        if contract is None:
            contract = contract_create(
                name=ADAPTER_CONTRACT_NAME,
                version=ADAPTER_CONTRACT_VERSION,
                message_schemas=ADAPTER_CONTRACT_SCHEMAS,
                description="Manifest and signal messages every OpenPassMarket adapter exchanges.",
            )
        if contract.status == ContractStatus.PROPOSED:
            self._decide(kind="approve_contract", contract=contract)
        for kind, document in (("privacy", PRIVACY), ("orchestration", orchestration)):
            active = governance_selectors.policy_active(kind=kind)
            if active is not None and active.document == document:
                continue
            policy = Policy.objects.filter(kind=kind, status=PolicyStatus.PROPOSED, document=document).first()
            policy = policy or governance_services.policy_create(kind=kind, document=document, created_by=self.proposer)
            self._decide(kind="activate_policy", policy=policy)

    def _decide(self, **target) -> None:
        proposal = governance_services.proposal_open(proposer=self.proposer, **target)
        for voter in self.voters:
            if proposal.status != "open":
                break
            governance_services.proposal_vote(proposal=proposal, voter=voter, choice="yes")
        subject = proposal.contract or proposal.policy or proposal.release
        self.stdout.write(
            f"  #{proposal.pk} {proposal.get_kind_display()} {subject}: {proposal.status} ({proposal.decision_reason})"
        )

    # --- the federated run --------------------------------------------------------------------------------

    def _federation(self, toolchain: str, quick: bool, options: dict) -> None:
        work = Path(settings.VAR_DIR) / "demo" / toolchain
        work.mkdir(parents=True, exist_ok=True)
        env = federation.adapter_env(Path(settings.VAR_DIR) / "adapter-cache")
        problem_class = f"{toolchain}/text-bytes"

        self.heading("4. A vendor's adapter release, its conformance run, the board's approval")
        release = self._release(toolchain, work, env)

        self.heading("5. Four participants and their private corpora (never sent anywhere)")
        members, held_back = self._corpora(toolchain, quick, work, env)
        keys = self._participants(members)

        self.heading("6. The site over TLS and one real `opm-adapter run` process per participant")
        call_command("tls", "ensure", stdout=self.stdout)
        with federation.served_site(work / "server.log") as url:
            self.stdout.write(f"  serving {url} (log: {work / 'server.log'})")
            federation.start_adapters(
                members, url=url, problem_class=problem_class, release=release.pk, enrolment_keys=keys, env=env
            )
            try:
                self._wait_registered(members, problem_class)
                self.heading("7. Orchestration: free public search, private selection and confirmation")
                outcomes = self._orchestrate(problem_class, toolchain, options)
            finally:
                codes = federation.stop_adapters(members)
                self.stdout.write(f"  adapters stopped: {codes}")
        self.heading("8. Results")
        self._report(problem_class, members, held_back, outcomes, env)
        self.heading("9. Export, verify and backtest the ledger; verify the attestation")
        self._backtest(work)

    def _release(self, toolchain: str, work: Path, env: dict) -> AdapterRelease:
        driver = get_driver(toolchain)
        catalogue = driver.catalogue()
        manifest = build_manifest(
            toolchain=toolchain,
            toolchain_version=str(catalogue.get("version", "")),
            passes=[entry["name"] for entry in catalogue.get("passes", [])],
        )
        release = AdapterRelease.objects.filter(name=manifest["name"], version=manifest["version"]).first()
        if release is None:
            release = release_submit(manifest=manifest, vendor=VENDOR, actor=f"vendor:{VENDOR}")
            self.stdout.write(f"  {VENDOR} submitted {release} ({len(manifest['passes'])} passes)")
        if release.state in (ReleaseState.SUBMITTED, ReleaseState.IN_REVIEW):
            report = work / "conformance.json"
            with self.spinner(f"conformance harness on the {toolchain} driver"):
                report.write_text(federation.run_adapter("conformance", "--toolchain", toolchain, "--json", env=env))
            call_command(
                "conformance", "record", "--release", str(release.pk), "--report", str(report), stdout=self.stdout
            )
            self._decide(kind="approve_release", release=release)
            release.refresh_from_db()
        if release.state != ReleaseState.APPROVED:
            raise CommandError(f"release {release} is {release.state}; the demo needs it approved")
        self.stdout.write(f"  {release}: approved")
        return release

    def spinner(self, desc: str):
        return tqdm(desc=f"  {desc}", bar_format="{desc}: {elapsed}", file=sys.stderr)

    def _corpora(self, toolchain: str, quick: bool, work: Path, env: dict):
        corpora = work / "corpora"
        names = [*PARTICIPANTS, "held-back"]
        if quick:
            paths = [
                federation.write_synthetic_variants(corpora / name, 10_000 + i * SYNTHETIC_N, SYNTHETIC_N)
                for i, name in enumerate(names)
            ]
            held = {name: "synthetic variants" for name in names}
        else:
            holdings = {**HOLDINGS, "held-back": HELD_BACK}
            jobs = [(name, source, part) for name in names for source, part in holdings[name]]
            for name, source, part in tqdm(jobs, desc="  corpora", unit="project", file=sys.stderr):
                federation.run_adapter(
                    "corpus", "materialize", "--source", source, "--slice", part, str(corpora / name), env=env
                )
            paths = [corpora / name for name in names]
            held = {name: ", ".join(f"{source} {part}" for source, part in holdings[name]) for name in names}
        members = [
            federation.Member(name, path, work / "keys" / f"{name}.key", work / f"{name}.log")
            for name, path in zip(PARTICIPANTS, paths, strict=False)
        ]
        for member in members:
            size = len(self._programs(member.corpus))
            self.stdout.write(f"  {member.name:9} {size:4} modules ({held[member.name]}) in {member.corpus}")
        self.stdout.write(
            f"  held back {len(self._programs(paths[-1]))} modules ({held['held-back']}) that no participant "
            "holds (for the demo's own report)"
        )
        return members, paths[-1]

    @staticmethod
    def _programs(corpus: Path) -> list[Path]:
        return sorted(p for p in corpus.iterdir() if p.suffix in (".ll", ".syn"))

    def _participants(self, members) -> dict[str, str]:
        """Enrolment keys for participants whose adapter has not enrolled yet (a re-run reuses its key file)."""
        keys = {}
        for member in members:
            member.key_file.parent.mkdir(parents=True, exist_ok=True)
            participant = Participant.objects.filter(name=member.name).first()
            participant = participant or participant_create(name=member.name, display_name=member.name.title())
            if not member.key_file.exists():
                federation.run_adapter("keygen", "--out", str(member.key_file))
            keys[member.name] = participant_key_issue(participant=participant, actor="operator")
            self.stdout.write(f"  {member.name:9} enrolment key issued (handed to its adapter, shown nowhere)")
        return keys

    def _wait_registered(self, members, problem_class: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        with tqdm(total=len(members), desc="  adapters registered", file=sys.stderr) as bar:
            while True:
                # Registered on the server and working: the adapter said so in this run's log.
                known = set(
                    LocalProblem.objects.filter(
                        problem_class=problem_class, handle__in=[m.problem for m in members]
                    ).values_list("handle", flat=True)
                )
                registered = sum(m.problem in known and m.said(f"problem {m.problem!r}") for m in members)
                bar.update(registered - bar.n)
                if registered == len(members):
                    return
                dead = [m.name for m in members if m.process is not None and m.process.poll() is not None]
                if dead or time.monotonic() > deadline:
                    logs = ", ".join(str(m.log) for m in members)
                    raise CommandError(f"adapters did not register ({dead or 'timeout'}); see {logs}")
                time.sleep(0.5)

    def _orchestrate(self, problem_class: str, toolchain: str, options: dict) -> list:
        subsets = None if toolchain == "synthetic" else PUBLIC_SUBSETS
        corpus = public_corpus(problem_class, subsets)
        self.stdout.write(f"  public corpus: {len(corpus)} programs (free to search)")
        outcomes = []
        for number in range(options["rounds"]):
            self.stdout.write(f"  round {number + 1}:")
            try:  # one seed for every round: the same public pool, a new member each time
                outcome = run_portfolio_round(
                    RoundSettings(problem_class, options["strategy"], corpus, seed=options["seed"]),
                    progress=self.stdout.write,
                )
            except OpmError as exc:  # the portfolio is full
                self.stdout.write(f"    -> not started: {exc.detail}")
                break
            outcomes.append(outcome)
            self.stdout.write(f"    -> {outcome.round.state}: {outcome.round.stop_reason}")
            if outcome.round.state != "finished" or not outcome.shortlist:
                break
        return outcomes

    def _report(self, problem_class: str, members, held_back: Path, outcomes: list, env: dict) -> None:
        version, portfolio = portfolio_current(problem_class=problem_class)
        deltas = PortfolioDelta.objects.filter(problem_class=problem_class).order_by("sequence")
        self.stdout.write(
            f"  {problem_class}: portfolio v{version} ({portfolio.content_hash()[:12]}), "
            f"{len(portfolio.members)} member(s) besides the reference"
        )
        for delta in deltas:
            estimate = delta.evidence.get("estimate") or {}
            member = delta.child.body["members"][-1]
            self.stdout.write(
                f"    v{delta.sequence} from round {delta.round_id}: + {describe(member)}\n"
                f"        federated marginal gain {estimate.get('mean', math.nan):+.3%} "
                f"± {estimate.get('std', math.nan):.3%} (noise std, {estimate.get('participants')} participants, "
                "log size clipped per module)"
            )
        self.stdout.write(f"  {'participant':12} {'epsilon spent':>14} {'of':>5} {'releases':>9}")
        views = {view.budget.participant.name: view for view in selectors.budget_views()}
        for member in members:
            view = views.get(member.name)
            if view is not None:
                self.stdout.write(
                    f"  {member.name:12} {view.spent_epsilon:>14.3f} {view.budget.epsilon:>5} {view.charges:>9}"
                )
        if not portfolio.members:
            self.stdout.write("  no member was promoted: the portfolio is the reference alone")
            return
        self.stdout.write("  true, non-private size of the promoted portfolio (this report only, never sent):")
        # The adapters' cache on this machine: what they measured for their tasks is not measured again.
        driver = get_driver(problem_toolchain(problem_class), cache_dir=Path(settings.VAR_DIR) / "adapter-cache")
        store = MeasurementStore.for_driver(driver)
        reference = "-Oz" if problem_class.startswith("llvm/") else "reference"
        sets = [*((m.name, m.corpus) for m in members), ("held-back", held_back)]
        if problem_class.startswith("llvm/"):
            unseen = Path(settings.VAR_DIR) / "demo" / "llvm" / "corpora" / "bundled-unseen"
            unseen.mkdir(parents=True, exist_ok=True)
            for program in corpus_programs(tuple(s for s in SUBSETS if s not in PUBLIC_SUBSETS)):
                link = unseen / program.path.name
                if not link.exists():
                    link.symlink_to(program.path)
            sets.append(("bundled", unseen))
        for name, corpus in sets:
            with self.spinner(f"{name}: {len(self._programs(corpus))} modules"):
                report = evaluate_portfolio(portfolio, corpus, driver=driver, store=store, jobs=2)
            larger = sum(r.plan_bytes is not None and r.plan_bytes > r.reference_bytes for r in report.programs)
            ratio = report.geomean_ratio or 1.0
            wins = report.wins()
            self.stdout.write(
                f"    {name:12} size / {reference} = {ratio:.4f} ({1 - ratio:+.2%} smaller); modules kept from "
                f"the reference {wins[0]}, from members {wins[1:]}; larger than {reference}: {larger}"
            )

    def _backtest(self, work: Path) -> None:
        export = work / "ledger-export"
        attestation = work / "attestation.note"
        shutil.rmtree(export, ignore_errors=True)  # a re-run exports the log as it is now
        call_command("ledger", "checkpoint", stdout=self.stdout, stderr=self.stderr)
        call_command("ledger", "export", str(export), "--no-progress", stdout=self.stdout)
        call_command("ledger", "verify", "--export", str(export), "--no-progress", stdout=self.stdout)
        call_command("backtest", "--export", str(export), "--out", str(attestation), "--record", stdout=self.stdout)
        vkey = operator_signer().verifier.vkey
        (work / "operator.vkey").write_text(vkey + "\n")
        call_command("backtest", "verify", str(attestation), "--key", vkey, stdout=self.stdout)
        self.stdout.write(f"  attestation: {attestation}; operator key: {work / 'operator.vkey'}")
