"""The orchestrator's decision rules as pure functions (DESIGN.md §8), shared by live rounds and backtests.

Nothing here touches the database, the network or a clock: the live orchestrator calls these with what it
observed, and `manage.py backtest` calls them again with what the ledger recorded. Any divergence between the
two is a changed rule or a rewritten history, and the backtest reports where.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from statistics import NormalDist
from typing import Any

from adapters.plan import PassStep, Plan
from adapters.search import STRATEGY_FUNCTIONS, Evaluation, SearchSpace
from orchestration.accounting import releases_within

ROUND_PHASES = ("selection", "confirmation")


# --- the public search's replayable core --------------------------------------------------------


def space_to_json(space: SearchSpace) -> dict[str, Any]:
    """The search space as recorded in `round.started`, so a replay needs no toolchain."""
    return {
        "start": space.start.to_json(),
        "passes": [step.to_json() for step in space.passes],
        "knobs": [[group, name, list(values)] for group, name, values in space.knobs],
        "max_extra_passes": space.max_extra_passes,
    }


def space_from_json(data: Mapping[str, Any]) -> SearchSpace:
    return SearchSpace(
        start=Plan.from_json(data["start"]),
        passes=tuple(PassStep.from_json(step) for step in data["passes"]),
        knobs=tuple((group, name, tuple(values)) for group, name, values in data["knobs"]),
        max_extra_passes=int(data["max_extra_passes"]),
    )


def drive_strategy(
    strategy: str,
    space: SearchSpace,
    seed: int,
    budget: int,
    evaluate: Callable[[Plan], Evaluation | None],
    *,
    start_score: float = 1.0,
) -> list[Evaluation]:
    """Run a strategy against an evaluator for at most `budget` charged evaluations; the charged ones in order.

    `evaluate` returns None for a plan the toolchain refuses without running (never charged). The start plan is
    the incumbent, scored `start_score` (1 for the reference) before the round. This is the loop of
    `adapters.search.search` without a driver, so that the live round (evaluating on the public corpus) and
    the replay (reading recorded scores) share it.
    """
    start = Evaluation(space.start, start_score, ())
    evaluated: dict[Plan, Evaluation] = {start.plan: start}
    charged: list[Evaluation] = []
    proposals = STRATEGY_FUNCTIONS[strategy](space, seed, start)
    batch = next(proposals, None)
    while batch is not None:
        fresh = []
        for plan in dict.fromkeys(batch):
            if plan in evaluated:
                continue
            result = evaluate(plan) if len(charged) + len(fresh) < budget else None
            if result is None:
                evaluated[plan] = Evaluation(plan, math.inf, (), "refused or over budget")
                if len(charged) + len(fresh) >= budget:
                    break
                continue
            fresh.append(result)
            evaluated[plan] = result
        charged.extend(fresh)
        if len(charged) >= budget:
            break
        try:
            batch = proposals.send([evaluated[plan] for plan in batch])
        except StopIteration:
            batch = None
    proposals.close()
    return charged


def shortlist(
    evaluations: Sequence[Evaluation], size: int, incumbent_score: float = 1.0, tried: Iterable[str] = ()
) -> list[Plan]:
    """The `size` best distinct plans that beat the incumbent on public code (ties: the earlier evaluated).

    Plans in `tried` (content hashes already sent to participants against the same incumbent) are left out:
    spending budget on them again would buy no new plan, and re-testing is a second chance for a lucky draw.
    """
    tried = set(tried)
    ranked = sorted(
        (e.score, order, e.plan)
        for order, e in enumerate(evaluations)
        if e.score < incumbent_score and e.plan.content_hash() not in tried
    )
    return list(dict.fromkeys(plan for _, _, plan in ranked))[:size]


# --- privacy-aware scheduling ------------------------------------------------------------------------


def choose_noise(remaining_nano: int, releases: int, *, minimum: float, maximum: float) -> tuple[float, int]:
    """(noise multiplier, releases) so that the planned Gaussian releases fit in `remaining_nano` nano-rho.

    The smallest multiplier that fits, never below the policy's minimum (a multiplier of 0.1 steps, so the
    figure is readable in the ledger); past `maximum` the signals would be too noisy to be worth their cost,
    so fewer releases are planned at `maximum` instead.
    """
    if releases <= 0 or remaining_nano <= 0:
        return maximum, 0
    needed = math.sqrt(releases / (2.0 * remaining_nano * 1e-9))
    multiplier = max(minimum, math.ceil(needed * 10) / 10)
    if multiplier > maximum:
        multiplier = maximum
    return multiplier, min(releases, releases_within(remaining_nano, multiplier))


# --- aggregation and promotion --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Observation:
    """One accepted signal: the participant's noised clipped mean gain and how it was noised."""

    participant: str
    value: float
    corpus_size: int
    noise_multiplier: float
    clip_bound: float

    @property
    def noise_std(self) -> float:
        return self.noise_multiplier * 2.0 * self.clip_bound / self.corpus_size


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The federation's gain estimate for one plan: mean weighted by corpus size, and its noise std."""

    mean: float
    std: float
    participants: int
    programs: int

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "participants": self.participants, "programs": self.programs}


def aggregate(observations: Iterable[Observation]) -> Estimate | None:
    """Corpus-size weighted mean of the participants' signals, with the std of the noise in it (known exactly:
    each signal's noise std is m * 2c / n). One signal per participant: later duplicates are ignored."""
    seen: dict[str, Observation] = {}
    for observation in observations:
        seen.setdefault(observation.participant, observation)
    if not seen:
        return None
    ordered = [seen[name] for name in sorted(seen)]
    total = sum(o.corpus_size for o in ordered)
    mean = math.fsum(o.corpus_size * o.value for o in ordered) / total
    variance = math.fsum((o.corpus_size / total) ** 2 * o.noise_std**2 for o in ordered)
    return Estimate(mean=mean, std=math.sqrt(variance), participants=len(ordered), programs=total)


@dataclasses.dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    lower_bound: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"promote": self.promote, "reason": self.reason, "lower_bound": self.lower_bound}


def select_winner(estimates: Mapping[str, Estimate | None]) -> str | None:
    """The plan hash with the highest estimated gain (ties: the smallest hash, so replays agree)."""
    usable = [(estimate.mean, plan) for plan, estimate in estimates.items() if estimate is not None]
    if not usable:
        return None
    best = max(mean for mean, _ in usable)
    return min(plan for mean, plan in usable if mean == best)


def promotion_decision(candidate: Estimate | None, incumbent: Estimate | None, policy: Mapping[str, Any]) -> Decision:
    """Promote when, on fresh (confirmation) signals, the candidate beats the incumbent by the policy's margin
    at the policy's one-sided confidence, with enough participants. The incumbent is the reference (gain 0
    exactly, no noise) when `incumbent` is None."""
    if candidate is None or candidate.participants < policy["min_participants"]:
        seen = 0 if candidate is None else candidate.participants
        return Decision(False, f"{seen} participants reported, the policy needs {policy['min_participants']}")
    base_mean, base_std = (0.0, 0.0) if incumbent is None else (incumbent.mean, incumbent.std)
    z = NormalDist().inv_cdf(policy["confidence"])
    lower = candidate.mean - base_mean - z * math.sqrt(candidate.std**2 + base_std**2)
    if lower > policy["min_margin"]:
        return Decision(True, f"gain lower bound {lower:.4f} > margin {policy['min_margin']}", lower)
    return Decision(False, f"gain lower bound {lower:.4f} <= margin {policy['min_margin']}", lower)
