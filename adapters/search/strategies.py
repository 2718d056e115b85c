"""Search strategies: pure functions of (seed, observed evaluations), so a run can be repeated exactly.

Random choices come from a SHA-256 stream of the seed (not `random`, whose streams are not promised across
Python versions). A strategy is a generator: it yields rounds of candidate plans and receives their
evaluations (in the same order, cut short when the budget ran out); it returns when it has nothing more
to propose. The live search, the orchestrator and the backtest all drive strategies the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any

from adapters.cache import content_key
from adapters.plan import PassStep, Plan
from adapters.search.objective import Evaluation
from adapters.search.space import KnobValue, SearchSpace

STRATEGIES = ("random", "greedy", "evolutionary", "local")
RANDOM_ROUND = 8  # plans the random strategy proposes at a time (fixed, so results never depend on --jobs)
MAX_DUPLICATE_DRAWS = 1_000  # the random strategy stops when the space seems exhausted

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


Proposals = Generator[list[Plan], list[Evaluation], None]


def random_strategy(space: SearchSpace, seed: int | str, start: Evaluation) -> Proposals:
    """Plans = start + 1..k passes drawn from the space, plus 0-2 knobs; never the same plan twice."""
    stream = SeededStream(seed, "random")
    seen = {start.plan}
    while True:
        round_: list[Plan] = []
        misses = 0
        while len(round_) < RANDOM_ROUND and misses < MAX_DUPLICATE_DRAWS:
            plan = sample(space, stream)
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


def sample(space: SearchSpace, stream: SeededStream) -> Plan:
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


LOCAL_BATCH = 4  # neighbours the local strategy proposes at a time (fixed, so results never depend on --jobs)
LOCAL_KICK = 3  # random edits that move a restart away from the best plan


def local_strategy(space: SearchSpace, seed: int | str, start: Evaluation) -> Proposals:
    """Iterated local search: first improvement over single knob changes, single pass insertions and removals
    of added passes, `LOCAL_BATCH` neighbours at a time (knobs first, then appends, then earlier positions,
    each group in seeded order); the best improving plan of a batch becomes the current one. At a local
    optimum, restart from the best plan so far changed by a few random edits, and climb again. Greedy pays
    for a whole neighbourhood per step; this moves as soon as a batch improves, so a small budget goes far."""
    stream = SeededStream(seed, "local")
    genome = _Genome.of(space)
    seen = {start.plan}
    best = current = start
    while True:
        neighbours = [plan for plan in _local_neighbours(space, current.plan, stream, genome) if plan not in seen]
        improved = False
        for index in range(0, len(neighbours), LOCAL_BATCH):
            batch = [plan for plan in neighbours[index : index + LOCAL_BATCH] if plan not in seen]
            if not batch:
                continue
            seen.update(batch)
            results = yield batch
            winner = min(results, key=lambda evaluation: evaluation.score, default=None)
            if winner is not None and winner.score < current.score:
                current, improved = winner, True
                best = min(best, winner, key=lambda evaluation: evaluation.score)
                break
        if improved:
            continue
        kick = None  # a local optimum: restart near the best plan so far
        for _ in range(MAX_DUPLICATE_DRAWS):
            plan = best.plan
            for _edit in range(1 + stream.below(LOCAL_KICK)):
                plan = genome.mutate(plan, stream)
            if plan not in seen:
                kick = plan
                break
        if kick is None:
            return
        seen.add(kick)
        results = yield [kick]
        if not results:
            return
        current = results[0] if results[0].ok else best


def _local_neighbours(space: SearchSpace, plan: Plan, stream: SeededStream, genome: _Genome) -> list[Plan]:
    """Knob changes and pass insertions (as greedy orders them), then removals of the passes the plan added."""
    added = range(genome.prefix, len(plan.passes))
    removals = [Plan(plan.toolchain, (*plan.passes[:i], *plan.passes[i + 1 :]), plan.knobs) for i in added]
    return list(dict.fromkeys([*_neighbours(space, plan, stream), *stream.shuffled(removals)]))


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
    genome = _Genome.of(space)
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

    @classmethod
    def of(cls, space: SearchSpace) -> _Genome:
        """Room for the start plan's passes and a few more than a random plan adds."""
        return cls(space, max_length=len(space.start.passes) + max(8, 2 * space.max_extra_passes))

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
    "local": local_strategy,
}
