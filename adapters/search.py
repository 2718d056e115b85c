"""Local, non-private plan search: find a plan that beats the reference on a corpus this machine holds.

Searching public code is free and unlimited (DESIGN.md §4), so the market's candidates come from here
before any private budget is spent. Strategies are pure functions of (seed, observed results): their
random choices come from a SHA-256 stream of the seed (not `random`, whose streams are not promised
across Python versions), so a run can be repeated exactly on any machine with the same toolchain.

The objective on a corpus is the geometric mean of plan/reference code size over its programs; a plan
that fails on any program (crash, timeout, invalid IR, miscompiled) scores infinity for that corpus.
The reference plan scores 1 by definition and is never charged to the budget.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from adapters.cache import Cache, content_key
from adapters.drivers.base import Driver, Measurement
from adapters.plan import KNOBS, PassStep, Plan, PlanError, reference_plan

STRATEGIES = ("random", "greedy", "evolutionary")
RANDOM_ROUND = 8  # plans the random strategy proposes at a time (fixed, so results never depend on --jobs)
MAX_DUPLICATE_DRAWS = 1_000  # the random strategy stops when the space seems exhausted
# Verdicts that depend on the machine's load rather than on the plan: never cached.
_TRANSIENT_VERDICTS = ("timeout", "out of memory")

KnobValue = bool | int | str


# --- the search space ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """What a strategy may do to the start plan: insert one of `passes`, set a knob to one of its values.

    `knobs` holds `(group, name, values)` triples; random samples append 1..`max_extra_passes` passes.
    """

    start: Plan
    passes: tuple[PassStep, ...]
    knobs: tuple[tuple[str, str, tuple[KnobValue, ...]], ...] = ()
    max_extra_passes: int = 4

    def with_knob(self, plan: Plan, group: str, name: str, value: KnobValue | None) -> Plan:
        """`plan` with one knob set (or removed, for None)."""
        knobs = {g: dict(values) for g, values in plan.knobs.items()}
        if value is None:
            knobs.get(group, {}).pop(name, None)
        else:
            knobs.setdefault(group, {})[name] = value
        return Plan(plan.toolchain, plan.passes, {g: values for g, values in sorted(knobs.items()) if values})


# Size-relevant passes that run cleanly after `default<Oz>` on the bundled corpus. Left out on purpose:
# passes that always fail or need inputs we do not have (select-optimize, codegenprepare, function-import,
# sample-profile, inliner-ml-advisor-release, unify-loop-exits) and codegen passes that break the loop
# pass manager's invariants (loop-reduce).
LLVM_SEARCH_PASSES = (
    "inline",
    "function-attrs",
    "argpromotion",
    "globalopt",
    "globaldce",
    "mergefunc",
    "constmerge",
    "deadargelim",
    "ipsccp",
    "called-value-propagation",
    "sroa",
    "mem2reg",
    "early-cse",
    "gvn",
    "newgvn",
    "gvn-hoist",
    "gvn-sink",
    "instcombine",
    "aggressive-instcombine",
    "instsimplify",
    "simplifycfg",
    "sink",
    "mldst-motion",
    "licm",
    "loop-rotate",
    "loop-deletion",
    "loop-simplifycfg",
    "loop-instsimplify",
    "indvars",
    "simple-loop-unswitch",
    "dse",
    "adce",
    "bdce",
    "sccp",
    "jump-threading",
    "reassociate",
    "tailcallelim",
    "memcpyopt",
    "correlated-propagation",
    "separate-const-offset-from-gep",
)

# Non-default values only: setting a knob to its default would spend an evaluation to learn nothing.
LLVM_SEARCH_KNOBS: tuple[tuple[str, str, tuple[KnobValue, ...]], ...] = (
    ("opt", "inline-threshold", (0, 5, 25, 50, 100)),
    ("opt", "phi-node-folding-threshold", (0, 1, 4)),
    ("opt", "jump-threading-threshold", (0, 2)),
    ("llc", "enable-machine-outliner", (True,)),
    ("llc", "machine-outliner-reruns", (1, 2)),
    ("llc", "enable-ipra", (True,)),
    ("llc", "enable-tail-merge", (False,)),
    ("llc", "tail-merge-size", (1, 10)),
    ("llc", "tail-dup-size", (0, 1)),
    ("llc", "disable-block-placement", (True,)),
)


def _llvm_space(driver: Driver) -> SearchSpace:
    return SearchSpace(reference_plan("llvm"), tuple(PassStep(name) for name in LLVM_SEARCH_PASSES), LLVM_SEARCH_KNOBS)


# Toolchain -> its curated space; drivers of other toolchains add theirs here or define `search_space()`.
SEARCH_SPACES: dict[str, Callable[[Driver], SearchSpace]] = {"llvm": _llvm_space}


def search_space(driver: Driver) -> SearchSpace:
    """The driver's own `search_space()` if it has one, else the registered space for its toolchain,
    else one derived from its catalogue (passes without required parameters) and its allowed knobs."""
    own = getattr(driver, "search_space", None)
    if callable(own):
        return own()
    if driver.name in SEARCH_SPACES:
        return SEARCH_SPACES[driver.name](driver)
    passes = []
    for entry in driver.catalogue().get("passes", []):
        if not entry.get("parameter_schema", {}).get("required"):
            passes.append(PassStep(entry["name"]))
    knobs = []
    for group, specs in sorted(KNOBS.get(driver.name, {}).items()):
        for name, spec in sorted(specs.items()):
            values: tuple[KnobValue, ...]
            if spec.type is bool:
                values = (True, False)
            elif spec.type is str:
                values = tuple(getattr(spec, "choices", ()))
            else:
                values = tuple(sorted({v for v in (spec.minimum, spec.maximum) if v is not None}))
            if values:
                knobs.append((group, name, values))
    unique = tuple(dict.fromkeys(passes))
    return SearchSpace(_start_plan(driver), unique, tuple(knobs))


def _start_plan(driver: Driver) -> Plan:
    try:
        return reference_plan(driver.name)
    except PlanError:
        return Plan(driver.name, ())


# --- seeded choices ------------------------------------------------------------------------------


class SeededStream:
    """Uniform choices from SHA-256(seed, label, counter): reproducible on every platform and version."""

    def __init__(self, seed: int | str, label: str) -> None:
        self._prefix = content_key("opm-search", str(seed), label).encode()
        self._counter = 0

    def _next64(self) -> int:
        block = hashlib.sha256(self._prefix + self._counter.to_bytes(8, "big")).digest()
        self._counter += 1
        return int.from_bytes(block[:8], "big")

    def below(self, n: int) -> int:
        """An integer in [0, n), without modulo bias (rejection sampling)."""
        if n <= 0:
            raise ValueError("below() needs n >= 1")
        limit = (1 << 64) - (1 << 64) % n
        while (value := self._next64()) >= limit:
            pass
        return value % n

    def shuffled(self, items: Sequence[Any]) -> list[Any]:
        """A Fisher-Yates shuffle of `items`."""
        out = list(items)
        for index in range(len(out) - 1, 0, -1):
            other = self.below(index + 1)
            out[index], out[other] = out[other], out[index]
        return out

    def sample(self, items: Sequence[Any], k: int) -> list[Any]:
        """`k` distinct items, in the order drawn."""
        return self.shuffled(items)[:k]


# --- evaluations ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """One plan on the corpus: code sizes per program (corpus order) and the objective.

    `score` is the geometric mean of plan/reference sizes, `math.inf` if any program failed;
    `failure` then names the first failing program and its verdict (local only, like all of this).
    """

    plan: Plan
    score: float
    sizes: tuple[int | None, ...]
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def ratios(self, reference_sizes: Sequence[int]) -> list[float | None]:
        return [None if size is None else size / ref for size, ref in zip(self.sizes, reference_sizes, strict=True)]


def geometric_mean_ratio(sizes: Sequence[int], reference_sizes: Sequence[int]) -> float:
    """exp(mean(log(plan / reference))); 0 if any program shrank to nothing."""
    if any(size == 0 for size in sizes):
        return 0.0
    logs = [math.log(size / ref) for size, ref in zip(sizes, reference_sizes, strict=True)]
    return math.exp(math.fsum(logs) / len(logs))


class Objective:
    """Measures plans on fixed programs against their (once computed) references.

    With `cache`, measurements are stored under the driver's identity, the plan's content hash and
    the prepared input's digest; only use it with drivers whose `identity()` covers everything that
    changes a measurement (no test hooks), as the CLI's drivers do.
    """

    def __init__(
        self,
        driver: Driver,
        programs: Sequence[Path],
        *,
        reference: str | None = None,
        cache: Cache | None = None,
    ) -> None:
        if not programs:
            raise ValueError("a search needs at least one program")
        self.driver = driver
        self.programs = tuple(Path(program) for program in programs)
        self.cache = cache
        self.reference_kind = reference or next(iter(getattr(driver, "references", ())), None)
        references = [driver.reference(program, self.reference_kind) for program in self.programs]
        self.reference_sizes: tuple[int, ...] = tuple(int(m.text_bytes or 0) for m in references)
        self._inputs: dict[Path, str] = {}

    def names(self) -> list[str]:
        return [self.driver.program_name(program) for program in self.programs]

    def baseline(self, plan: Plan) -> Evaluation:
        """The reference plan's evaluation: the reference sizes themselves, ratio 1."""
        return Evaluation(plan, 1.0, self.reference_sizes)

    def rejection(self, plan: Plan) -> Evaluation | None:
        """None if the driver accepts `plan`, else its infinite-score evaluation (e.g. a Cranelift
        setting given twice); strategies may propose such plans, the budget never pays for them."""
        try:
            self.driver.check_plan(plan)
        except PlanError as exc:
            return Evaluation(plan, math.inf, (None,) * len(self.programs), f"invalid plan: {exc}")
        return None

    def evaluate(self, plan: Plan) -> Evaluation:
        """Programs in order, stopping at the first failure (its score is infinite whatever follows)."""
        self.driver.check_plan(plan)
        sizes: list[int | None] = []
        for program in self.programs:
            measured = self._measure(plan, program)
            if not measured.ok or measured.text_bytes is None:
                sizes.extend([None] * (len(self.programs) - len(sizes)))
                failure = f"{self.driver.program_name(program)}: {measured.verdict}"
                if measured.detail:
                    failure += f" ({measured.detail})"
                return Evaluation(plan, math.inf, tuple(sizes), failure)
            sizes.append(measured.text_bytes)
        ints = [size for size in sizes if size is not None]
        return Evaluation(plan, geometric_mean_ratio(ints, self.reference_sizes), tuple(sizes))

    def _measure(self, plan: Plan, program: Path) -> Measurement:
        if self.cache is None:
            return self.driver.measure(plan, program)
        key = content_key(
            "search-measure",
            f"{type(self.driver).__module__}.{type(self.driver).__qualname__}",
            self.driver.identity(),
            plan.content_hash(),
            self._input_digest(program),
        )
        stored = self.cache.read_json("measure", key)
        if stored is not None:
            return Measurement.from_json(stored)
        measured = self.driver.measure(plan, program)
        if not measured.verdict.startswith(_TRANSIENT_VERDICTS):
            self.cache.write_json("measure", key, measured.as_json())
        return measured

    def _input_digest(self, program: Path) -> str:
        if program not in self._inputs:
            self._inputs[program] = hashlib.sha256(self.driver.prepare(program).read_bytes()).hexdigest()
        return self._inputs[program]


# --- strategies -------------------------------------------------------------------------------------

# A strategy yields rounds of candidate plans and receives their evaluations (in the same order, cut
# short when the budget ran out); it returns when it has nothing more to propose.
Proposals = Generator[list[Plan], list[Evaluation], None]


def random_strategy(space: SearchSpace, seed: int | str, start: Evaluation) -> Proposals:
    """Plans = start + 1..k passes drawn from the space, plus 0-2 knobs; never the same plan twice."""
    stream = SeededStream(seed, "random")
    seen = {start.plan}
    while True:
        round_: list[Plan] = []
        misses = 0
        while len(round_) < RANDOM_ROUND and misses < MAX_DUPLICATE_DRAWS:
            plan = _sample(space, stream)
            if plan in seen:
                misses += 1
                continue
            seen.add(plan)
            round_.append(plan)
        if not round_:
            return
        yield round_
        if misses >= MAX_DUPLICATE_DRAWS:
            return


def _sample(space: SearchSpace, stream: SeededStream) -> Plan:
    extra: list[PassStep] = []
    if space.passes:
        count = 1 + stream.below(max(1, space.max_extra_passes))
        extra = [space.passes[stream.below(len(space.passes))] for _ in range(count)]
    plan = Plan(space.start.toolchain, (*space.start.passes, *extra), space.start.knobs)
    if space.knobs:
        for group, name, values in stream.sample(space.knobs, stream.below(3)):
            plan = space.with_knob(plan, group, name, values[stream.below(len(values))])
    return plan


def greedy_strategy(space: SearchSpace, seed: int | str, start: Evaluation) -> Proposals:
    """Hill climbing: each round tries every single knob change and single pass insertion of the
    current plan (knobs first, then appends, then earlier positions; each group in seeded order)
    and moves to the best strict improvement; stops when a round improves nothing."""
    current = start
    round_number = 0
    while True:
        stream = SeededStream(seed, f"greedy-{round_number}")
        neighbours = list(dict.fromkeys(_neighbours(space, current.plan, stream)))
        neighbours = [plan for plan in neighbours if plan != current.plan]
        if not neighbours:
            return
        results = yield neighbours
        best = current
        for evaluation in results:
            if evaluation.score < best.score:
                best = evaluation
        if best is current:
            return
        current = best
        round_number += 1


def _neighbours(space: SearchSpace, plan: Plan, stream: SeededStream) -> Iterable[Plan]:
    knob_changes = []
    for group, name, values in space.knobs:
        current = plan.knobs.get(group, {}).get(name)
        knob_changes += [space.with_knob(plan, group, name, value) for value in values if value != current]
        if current is not None:
            knob_changes.append(space.with_knob(plan, group, name, None))
    yield from stream.shuffled(knob_changes)
    for position in range(len(plan.passes), -1, -1):
        inserted = [
            Plan(plan.toolchain, (*plan.passes[:position], step, *plan.passes[position:]), plan.knobs)
            for step in space.passes
        ]
        yield from stream.shuffled(inserted)


# The evolutionary strategy's defaults: small enough that a generation is one round of a modest budget.
EVOLUTION_POPULATION = 16
EVOLUTION_ELITES = 2  # the best plans carried unchanged into the next generation
EVOLUTION_TOURNAMENT = 3  # plans drawn per tournament; the best of them is a parent
EVOLUTION_GENERATIONS = 100
EVOLUTION_PATIENCE = 15  # generations without a better plan before the search gives up
EVOLUTION_MAX_EXTRA_MUTATIONS = 3  # a child gets 1 + k edits, k extra with probability 2**-k


def evolutionary_strategy(
    space: SearchSpace,
    seed: int | str,
    start: Evaluation,
    *,
    population: int = EVOLUTION_POPULATION,
    elites: int = EVOLUTION_ELITES,
    tournament: int = EVOLUTION_TOURNAMENT,
    generations: int = EVOLUTION_GENERATIONS,
    patience: int = EVOLUTION_PATIENCE,
) -> Proposals:
    """A generational genetic algorithm over the passes added after the start plan's, and its knobs: parents
    by tournament, one-point crossover half the time, then one or more mutations (insert, remove, replace or
    swap a pass; change a knob); the best `elites` survive unchanged. Stops after `generations`, or after
    `patience` generations without a better plan; never proposes a plan twice."""
    if not 0 <= elites < population or tournament < 1:
        raise ValueError("need 0 <= elites < population and tournament >= 1")
    stream = SeededStream(seed, "evolutionary")
    genome = _Genome(space, max_length=len(space.start.passes) + max(8, 2 * space.max_extra_passes))
    seen = {start.plan}

    def novel(count: int, make: Callable[[], Plan]) -> list[Plan]:
        plans: list[Plan] = []
        misses = 0
        while len(plans) < count and misses < MAX_DUPLICATE_DRAWS:
            plan = make()
            if plan in seen:
                misses += 1
                continue
            seen.add(plan)
            plans.append(plan)
        return plans

    def founder() -> Plan:
        plan = start.plan
        for _ in range(1 + stream.below(max(1, space.max_extra_passes))):
            plan = genome.mutate(plan, stream)
        return plan

    founders = novel(population - 1, founder)
    if not founders:
        return
    results = yield founders
    members = [start, *results[: len(founders)]]
    best = min(member.score for member in members)
    stale = 0
    for _generation in range(generations):
        ranked = sorted(members, key=lambda member: member.score)  # stable: ties keep their order

        def child(ranked: list[Evaluation] = ranked) -> Plan:
            plan = _tournament(ranked, stream, tournament).plan
            if stream.below(2):
                plan = genome.crossover(plan, _tournament(ranked, stream, tournament).plan, stream)
            plan = genome.mutate(plan, stream)
            # More edits with probability 1/2 each: some improvements take two at once (drop a pass that
            # only helps while another is absent, add that other one).
            for _ in range(EVOLUTION_MAX_EXTRA_MUTATIONS):
                if stream.below(2):
                    break
                plan = genome.mutate(plan, stream)
            return plan

        children = novel(population - elites, child)
        if not children:
            return
        results = yield children
        members = [*ranked[:elites], *results[: len(children)]]
        generation_best = min(member.score for member in members)
        if generation_best < best:
            best, stale = generation_best, 0
        else:
            stale += 1
            if stale >= patience:
                return


def _tournament(ranked: Sequence[Evaluation], stream: SeededStream, size: int) -> Evaluation:
    """The best of `size` members drawn with replacement from a population sorted best first."""
    return ranked[min(stream.below(len(ranked)) for _ in range(size))]


@dataclasses.dataclass(frozen=True)
class _Genome:
    """How the evolutionary strategy edits plans: only the passes after the start plan's (the space lets a
    strategy add passes, not drop the start's), at most `max_length` passes in all, and the space's knobs."""

    space: SearchSpace
    max_length: int

    @property
    def prefix(self) -> int:
        return len(self.space.start.passes)

    def mutate(self, plan: Plan, stream: SeededStream) -> Plan:
        """One random edit among those possible on `plan` (the plan itself if none is)."""
        passes, prefix, choices = list(plan.passes), self.prefix, self.space.passes
        tail = len(passes) - prefix
        kinds = [
            kind
            for kind, possible in (
                ("insert", bool(choices) and len(passes) < self.max_length),
                ("remove", tail > 0),
                ("replace", bool(choices) and tail > 0),
                ("swap", tail > 1),
                ("knob", bool(self.space.knobs)),
            )
            if possible
        ]
        if not kinds:
            return plan
        kind = kinds[stream.below(len(kinds))]
        if kind == "insert":
            passes.insert(prefix + stream.below(tail + 1), choices[stream.below(len(choices))])
        elif kind == "remove":
            del passes[prefix + stream.below(tail)]
        elif kind == "replace":
            passes[prefix + stream.below(tail)] = choices[stream.below(len(choices))]
        elif kind == "swap":
            index = prefix + stream.below(tail - 1)
            passes[index], passes[index + 1] = passes[index + 1], passes[index]
        else:
            group, name, values = self.space.knobs[stream.below(len(self.space.knobs))]
            current = plan.knobs.get(group, {}).get(name)
            options: list[KnobValue | None] = [value for value in values if not _same_knob(value, current)]
            if current is not None:
                options.append(None)
            if not options:
                return plan
            return self.space.with_knob(plan, group, name, options[stream.below(len(options))])
        return Plan(plan.toolchain, tuple(passes), plan.knobs)

    def crossover(self, one: Plan, two: Plan, stream: SeededStream) -> Plan:
        """A head of `one`'s added passes joined to a tail of `two`'s; each knob from either parent."""
        head, tail = one.passes[self.prefix :], two.passes[self.prefix :]
        added = (*head[: stream.below(len(head) + 1)], *tail[stream.below(len(tail) + 1) :])
        passes = (*self.space.start.passes, *added)[: self.max_length]
        knobs: dict[str, dict[str, KnobValue]] = {}
        keys = sorted({(group, name) for plan in (one, two) for group, values in plan.knobs.items() for name in values})
        for group, name in keys:
            value = (one, two)[stream.below(2)].knobs.get(group, {}).get(name)
            if value is not None:
                knobs.setdefault(group, {})[name] = value
        return Plan(one.toolchain, passes, {group: values for group, values in sorted(knobs.items()) if values})


def _same_knob(one: KnobValue | None, two: KnobValue | None) -> bool:
    return type(one) is type(two) and one == two


STRATEGY_FUNCTIONS: Mapping[str, Callable[[SearchSpace, int | str, Evaluation], Proposals]] = {
    "random": random_strategy,
    "greedy": greedy_strategy,
    "evolutionary": evolutionary_strategy,
}


# --- running a search ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """A finished search: the best plan, every charged evaluation in order, and what it was run on."""

    toolchain: str
    strategy: str
    seed: int | str
    budget: int
    programs: tuple[str, ...]
    reference_sizes: tuple[int, ...]
    reference_kind: str | None
    start: Evaluation
    best: Evaluation
    evaluations: tuple[Evaluation, ...]

    @property
    def evaluations_used(self) -> int:
        return len(self.evaluations)

    @property
    def improved(self) -> bool:
        return self.best.score < self.start.score

    @property
    def worse_than_reference(self) -> int:
        """Programs on which the best plan is bigger than the reference."""
        pairs = zip(self.best.sizes, self.reference_sizes, strict=True)
        return sum(size is not None and size > ref for size, ref in pairs)

    def summary(self) -> dict[str, Any]:
        """Local-only numbers (per-program sizes and names never leave the adapter)."""
        ratios = self.best.ratios(self.reference_sizes)
        rows = zip(self.programs, self.reference_sizes, self.best.sizes, ratios, strict=True)
        return {
            "toolchain": self.toolchain,
            "strategy": self.strategy,
            "seed": self.seed,
            "budget": self.budget,
            "evaluations": self.evaluations_used,
            "failed_evaluations": sum(not evaluation.ok for evaluation in self.evaluations),
            "reference": self.reference_kind,
            "plan": self.best.plan.content_hash(),
            "improved": self.improved,
            "geomean_ratio": self.best.score,
            "programs_worse_than_reference": self.worse_than_reference,
            "programs": [
                {"program": name, "reference_bytes": ref, "plan_bytes": size, "ratio": ratio}
                for name, ref, size, ratio in rows
            ],
        }


def search(
    driver: Driver,
    programs: Sequence[Path],
    *,
    strategy: str,
    budget: int,
    seed: int | str = 0,
    jobs: int = 1,
    reference: str | None = None,
    space: SearchSpace | None = None,
    cache: Cache | None = None,
    progress: Callable[[Evaluation], None] | None = None,
) -> SearchResult:
    """Search for the plan with the lowest geometric-mean size ratio on `programs`.

    At most `budget` plans are evaluated (exactly `budget` unless the strategy runs out of proposals);
    a plan proposed twice is evaluated once. `jobs` plans are measured at once; results and choices do
    not depend on it. The result's best plan is never worse than the start (the reference plan).
    """
    if strategy not in STRATEGY_FUNCTIONS:
        raise ValueError(f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
    if budget < 0:
        raise ValueError("the budget must be >= 0")
    space = space or search_space(driver)
    objective = Objective(driver, programs, reference=reference, cache=cache)
    evaluated: dict[Plan, Evaluation] = {}
    charged: list[Evaluation] = []
    if _is_reference(driver, space.start):
        start = objective.baseline(space.start)
    else:
        start = objective.evaluate(space.start)
        charged.append(start)
    evaluated[start.plan] = start
    best = start
    proposals = STRATEGY_FUNCTIONS[strategy](space, seed, start)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        round_ = next(proposals, None)
        while round_ is not None:
            fresh = []
            for plan in dict.fromkeys(round_):
                if plan in evaluated:
                    continue
                rejection = objective.rejection(plan)
                if rejection is None:
                    fresh.append(plan)
                else:  # costs nothing: the toolchain refused it without running anything
                    evaluated[plan] = rejection
            todo = fresh[: max(0, budget - len(charged))]
            for evaluation in pool.map(objective.evaluate, todo):
                evaluated[evaluation.plan] = evaluation
                charged.append(evaluation)
                if evaluation.score < best.score:
                    best = evaluation
                if progress is not None:
                    progress(evaluation)
            if len(todo) < len(fresh):
                break  # the budget is spent
            try:
                round_ = proposals.send([evaluated[plan] for plan in round_])
            except StopIteration:
                round_ = None
        proposals.close()
    return SearchResult(
        toolchain=driver.name,
        strategy=strategy,
        seed=seed,
        budget=budget,
        programs=tuple(objective.names()),
        reference_sizes=objective.reference_sizes,
        reference_kind=objective.reference_kind,
        start=start,
        best=best,
        evaluations=tuple(charged),
    )


def search_per_program(
    driver: Driver,
    programs: Sequence[Path],
    *,
    strategy: str,
    budget: int,
    seed: int | str = 0,
    jobs: int = 1,
    reference: str | None = None,
    space: SearchSpace | None = None,
    cache: Cache | None = None,
    progress: Callable[[Evaluation], None] | None = None,
) -> list[SearchResult]:
    """One search per program, each with the full `budget` and a seed derived from (seed, program
    name); each program keeps the reference when nothing beats it, so none ends worse than it."""
    space = space or search_space(driver)
    results = []
    for program in programs:
        program_seed = content_key(str(seed), driver.program_name(Path(program)))[:16]
        results.append(
            search(
                driver,
                [program],
                strategy=strategy,
                budget=budget,
                seed=program_seed,
                jobs=jobs,
                reference=reference,
                space=space,
                cache=cache,
                progress=progress,
            )
        )
    return results


def per_program_summary(results: Sequence[SearchResult]) -> dict[str, Any]:
    """The per-program report: each program's best plan (the reference if nothing beat it) and ratio."""
    programs = []
    for result in results:
        programs.append(
            {
                "program": result.programs[0],
                "plan": result.best.plan.to_json(),
                "ratio": result.best.score,
                "reference_bytes": result.reference_sizes[0],
                "plan_bytes": result.best.sizes[0],
                "fallback": not result.improved,
                "evaluations": result.evaluations_used,
            }
        )
    ratios = [entry["ratio"] for entry in programs]
    return {
        "programs": programs,
        "summary": {
            "toolchain": results[0].toolchain if results else None,
            "strategy": results[0].strategy if results else None,
            "budget_per_program": results[0].budget if results else None,
            "evaluations": sum(result.evaluations_used for result in results),
            "improved_programs": sum(result.improved for result in results),
            "programs_worse_than_reference": sum(ratio > 1 for ratio in ratios),
            "geomean_ratio": math.exp(math.fsum(math.log(r) for r in ratios) / len(ratios)) if ratios else None,
        },
    }


def describe(plan: Plan | Mapping[str, Any]) -> str:
    """A one-line human rendering of a plan: `default<Oz>, gvn-sink; llc: enable-ipra=True`."""
    document = plan.to_json() if isinstance(plan, Plan) else plan
    steps = []
    for step in document["passes"]:
        params = ";".join(
            str(value) if key == "level" else f"{key}={value}" for key, value in sorted(step.get("params", {}).items())
        )
        steps.append(f"{step['name']}<{params}>" if params else step["name"])
    knobs = [
        f"{group}: " + ", ".join(f"{name}={value}" for name, value in sorted(values.items()))
        for group, values in sorted(document.get("knobs", {}).items())
        if values
    ]
    return "; ".join([", ".join(steps) or "(no passes)", *knobs])


def _is_reference(driver: Driver, plan: Plan) -> bool:
    try:
        return plan == reference_plan(driver.name)
    except PlanError:
        return False


__all__ = [
    "LLVM_SEARCH_KNOBS",
    "LLVM_SEARCH_PASSES",
    "SEARCH_SPACES",
    "STRATEGIES",
    "Evaluation",
    "Objective",
    "SearchResult",
    "SearchSpace",
    "SeededStream",
    "describe",
    "geometric_mean_ratio",
    "per_program_summary",
    "search",
    "search_per_program",
    "search_space",
]
