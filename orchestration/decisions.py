"""The orchestrator's decision rules as pure functions (docs/design.md §8), shared by live rounds and backtests.

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
from adapters.portfolio import best_size
from adapters.privacy import marginal_gain
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


# --- portfolios: the public pool and its shortlist ----------------------------------------------------


def pool_plans(best: Sequence[tuple[Plan, float]], exclude: Iterable[str] = ()) -> list[Plan]:
    """The candidate pool from a per-program search: each program's best plan that beat the reference there,
    once, best ratio first (ties: the smaller hash), leaving out `exclude` (the portfolio's members)."""
    excluded = set(exclude)
    ranked = sorted((ratio, plan.content_hash(), plan) for plan, ratio in best if ratio < 1.0)
    chosen: dict[str, Plan] = {}
    for _, digest, plan in ranked:
        if digest not in excluded:
            chosen.setdefault(digest, plan)
    return list(chosen.values())


def best_sizes(reference: Sequence[int], members: Sequence[Sequence[int | None]]) -> list[int]:
    """Per program, the smallest verified size among the reference and the members (None: that member
    failed there): what a participant keeps with that portfolio."""
    return [best_size([ref, *(sizes[i] for sizes in members)]) for i, ref in enumerate(reference)]


def public_marginal_gains(
    reference: Sequence[int],
    base_sizes: Sequence[Sequence[int | None]],
    candidate_sizes: Mapping[str, Sequence[int | None]],
    clip: float,
) -> dict[str, float]:
    """Each candidate's mean marginal gain over the portfolio on the public programs: the statistic the
    participants release (`clip(log size_S - log size_{S+q}, 0, c)` per program), without noise."""
    base = best_sizes(reference, base_sizes)
    gains = {}
    for plan_hash, sizes in candidate_sizes.items():
        per_program = [
            marginal_gain(s_base, best_size([s_base, size]), clip) for s_base, size in zip(base, sizes, strict=True)
        ]
        gains[plan_hash] = math.fsum(per_program) / len(per_program) if per_program else 0.0
    return gains


def portfolio_shortlist(gains: Mapping[str, float], size: int, tried: Iterable[str] = ()) -> list[str]:
    """The `size` candidates with the largest public marginal gain above 0 (ties: the smaller hash), leaving
    out those already sent to participants against the same portfolio."""
    excluded = set(tried)
    ranked = sorted((-gain, plan_hash) for plan_hash, gain in gains.items() if gain > 0 and plan_hash not in excluded)
    return [plan_hash for _, plan_hash in ranked[:size]]


def portfolio_releases(shortlisted: int) -> int:
    """Releases a portfolio round asks of each participant: one per shortlisted candidate and one to confirm
    the winner, or just the confirmation when there is one candidate (a selection among one buys nothing)."""
    return shortlisted + 1 if shortlisted > 1 else min(shortlisted, 1)


def portfolio_selection(shortlist: Sequence[str], releases: int) -> list[str]:
    """The candidates that get selection releases when `releases` fit the budget: all but the one release kept
    for confirmation, and none when that leaves fewer than two (the public ranking then chooses)."""
    chosen = list(shortlist[: max(0, releases - 1)])
    return chosen if len(chosen) >= 2 else []


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
    width: int = 2
    """The statistic's range in units of the clip bound: 2 for gains in [-c, c], 1 for marginal gains in [0, c]."""

    @property
    def noise_std(self) -> float:
        return self.noise_multiplier * self.width * self.clip_bound / self.corpus_size


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
