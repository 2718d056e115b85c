"""Local, non-private plan search: find plans that beat the reference on code this machine holds.

Split by job: `space` (what a search may change), `strategies` (how it proposes plans, seeded and
replayable), `objective` (how a plan scores on programs) and `runner` (a strategy against the objective
within a budget, and its reports). Measurements kept across runs live in `adapters.measurements`.
"""

from adapters.search.objective import NO_CODE, Evaluation, Objective, geometric_mean_ratio
from adapters.search.runner import (
    SearchResult,
    describe,
    per_program_summary,
    search,
    search_per_program,
)
from adapters.search.space import (
    LLVM_SEARCH_KNOBS,
    LLVM_SEARCH_PASSES,
    SEARCH_SPACES,
    KnobValue,
    SearchSpace,
    search_space,
)
from adapters.search.strategies import STRATEGIES, STRATEGY_FUNCTIONS, SeededStream, sample

__all__ = [
    "LLVM_SEARCH_KNOBS",
    "LLVM_SEARCH_PASSES",
    "NO_CODE",
    "SEARCH_SPACES",
    "STRATEGIES",
    "STRATEGY_FUNCTIONS",
    "Evaluation",
    "KnobValue",
    "Objective",
    "SearchResult",
    "SearchSpace",
    "SeededStream",
    "describe",
    "geometric_mean_ratio",
    "per_program_summary",
    "sample",
    "search",
    "search_per_program",
    "search_space",
]
