"""What a search may change: the start plan, the passes it may insert and the knob values it may set.

A toolchain's curated space lists the size-relevant choices that run cleanly after its reference pipeline;
a toolchain without one gets a space derived from its catalogue and allowed knobs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from adapters.drivers.base import Driver
from adapters.plan import KNOBS, PassStep, Plan, PlanError, reference_plan

KnobValue = bool | int | str


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
    "iroutliner",
    "mergeicmps",
)
# Passes with parameters: simplifycfg hoisting and sinking instructions common to both arms of a branch.
LLVM_SEARCH_STEPS = (PassStep("simplifycfg", {"hoist-common-insts": True, "sink-common-insts": True}),)

# Non-default values only: setting a knob to its default would spend an evaluation to learn nothing. The
# code generator's loop strength reduction and machine LICM, and the IR's exit-test rewriting (LFTR), each
# trade size for speed in loops: turning them off was worth 1.1%, 1.3% and 0.9% on the bundled corpus on
# their own, 4.9% together with IPRA and the outliner (all 42 programs verified by differential runs).
LLVM_SEARCH_KNOBS: tuple[tuple[str, str, tuple[KnobValue, ...]], ...] = (
    ("opt", "inline-threshold", (0, 1, 2, 10, 25, 50, 100)),
    ("opt", "inlinecold-threshold", (0,)),
    ("opt", "inlinehint-threshold", (0, 5)),
    ("opt", "phi-node-folding-threshold", (0, 1, 4)),
    ("opt", "jump-threading-threshold", (0, 2)),
    ("opt", "disable-lftr", (True,)),
    ("opt", "indvars-widen-indvars", (False,)),
    ("llc", "enable-machine-outliner", (True,)),
    ("llc", "machine-outliner-reruns", (1, 2)),
    ("llc", "enable-ipra", (True,)),
    ("llc", "enable-tail-merge", (False,)),
    ("llc", "tail-merge-size", (1, 10)),
    ("llc", "tail-dup-size", (0, 1)),
    ("llc", "disable-block-placement", (True,)),
    ("llc", "regalloc", ("basic",)),
    ("llc", "split-spill-mode", ("size",)),
    ("llc", "terminal-rule", (False,)),
    ("llc", "disable-lsr", (True,)),
    ("llc", "disable-machine-licm", (True,)),
    ("llc", "disable-machine-sink", (True,)),
)


def _llvm_space(driver: Driver) -> SearchSpace:
    steps = (*(PassStep(name) for name in LLVM_SEARCH_PASSES), *LLVM_SEARCH_STEPS)
    return SearchSpace(reference_plan("llvm"), steps, LLVM_SEARCH_KNOBS)


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
