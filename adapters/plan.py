"""Pass plans (docs/design.md §7): what a participant is asked to evaluate, as a small JSON document.

`{"toolchain": "llvm", "passes": [{"name": "...", "params": {...}}, ...], "knobs": {...}}`

Plans arrive from the market and run on the participant's machine, so parsing is strict: unknown
keys, wrong types and characters that could splice extra passes or flags into a command line are
rejected with a one-line `PlanError` naming the field. A plan's identity is the SHA-256 of its
RFC 8785 canonical JSON, so equal plans hash equally whatever the key order of the file.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rfc8785

if TYPE_CHECKING:
    from adapters.toolchains.llvm import PassInfo

ParamValue = bool | int | str

PLAN_KEYS = frozenset({"toolchain", "passes", "knobs"})
STEP_KEYS = frozenset({"name", "params"})

# Pass names and parameter keys are bare identifiers; string values may not contain the pipeline
# syntax characters `,;<>()=`, whitespace or `/`: no value can open another pass or parameter,
# or point a pass at a file of the participant's machine.
_PASS_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_PARAM_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\[\]-]*")
_PARAM_STRING = re.compile(r"[A-Za-z0-9_.@$+-]*")
_INT_MAX = 2**31 - 1


class PlanError(ValueError):
    """A plan document is malformed or names something the toolchain does not have (one line)."""


# --- knobs: allow-listed tool options -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KnobSpec:
    """One allowed tool option: its JSON type, an inclusive range for integers, how it is written.

    Only allow-listed options may be set, so a plan can never redirect output, change the
    target or the code model (which would make sizes incomparable), or load plugins.
    """

    type: type[bool] | type[int] | type[str]
    minimum: int | None = None
    maximum: int | None = None
    true_value: str = "true"
    false_value: str = "false"
    description: str = ""
    choices: tuple[str, ...] = ()
    """The allowed values of a string knob (an enumeration; free text is never allowed)."""

    def check(self, field: str, value: Any) -> None:
        """Raise PlanError unless `value` has this knob's type and lies in its range (or choices)."""
        if self.type is bool:
            if not isinstance(value, bool):
                raise PlanError(f"{field}: expected a boolean, got {json_type(value)}")
            return
        if self.type is str:
            if not isinstance(value, str):
                raise PlanError(f"{field}: expected a string, got {json_type(value)}")
            if value not in self.choices:
                raise PlanError(f"{field}: {value!r} is not one of {', '.join(self.choices)}")
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise PlanError(f"{field}: expected an integer, got {json_type(value)}")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise PlanError(f"{field}: {value} is outside the allowed range [{self.minimum}, {self.maximum}]")

    def render(self, name: str, value: bool | int | str) -> str:
        """The command-line flag, e.g. `-inline-threshold=50` or `-enable-ipra=true`."""
        if isinstance(value, bool):
            return f"-{name}={self.true_value if value else self.false_value}"
        return f"-{name}={value}"


# Thresholds start at 0: a negative -inline-threshold trips an assertion in opt 22's inliner.
LLVM_KNOBS: dict[str, dict[str, KnobSpec]] = {
    "opt": {
        "inline-threshold": KnobSpec(int, 0, 100_000, description="inliner cost threshold (default 225)"),
        "inlinehint-threshold": KnobSpec(int, 0, 100_000, description="threshold for `inlinehint` callees"),
        "inlinecold-threshold": KnobSpec(int, 0, 100_000, description="threshold for cold callees"),
        "unroll-threshold": KnobSpec(int, 0, 100_000, description="loop unrolling cost threshold"),
        "jump-threading-threshold": KnobSpec(int, 0, 1_000, description="max block size jump threading copies"),
        "phi-node-folding-threshold": KnobSpec(int, 0, 1_000, description="phi folding budget in simplifycfg"),
        "disable-lftr": KnobSpec(bool, description="keep loop exit tests as written (no linear function test replace)"),
        "indvars-widen-indvars": KnobSpec(bool, description="widen narrow induction variables (default true)"),
    },
    "llc": {
        "enable-machine-outliner": KnobSpec(
            bool, true_value="always", false_value="never", description="outline repeated machine code"
        ),
        "machine-outliner-reruns": KnobSpec(int, 0, 10, description="extra machine outliner rounds"),
        "enable-ipra": KnobSpec(bool, description="interprocedural register allocation"),
        "enable-tail-merge": KnobSpec(bool, description="merge identical block tails"),
        "tail-merge-size": KnobSpec(int, 1, 1_000, description="min instructions to tail-merge"),
        "tail-dup-size": KnobSpec(int, 0, 100, description="max instructions to tail-duplicate"),
        "disable-block-placement": KnobSpec(bool, description="keep the IR block order"),
        "align-all-functions": KnobSpec(int, 0, 6, description="force function alignment (log2 bytes)"),
        "regalloc": KnobSpec(str, choices=("greedy", "basic"), description="register allocator (default greedy)"),
        "split-spill-mode": KnobSpec(
            str, choices=("default", "size", "speed"), description="how live-range splitting places spill code"
        ),
        "terminal-rule": KnobSpec(bool, description="coalesce copies into terminal instructions"),
        "disable-lsr": KnobSpec(bool, description="skip loop strength reduction in code generation"),
        "disable-machine-licm": KnobSpec(bool, description="skip machine loop-invariant code motion"),
        "disable-machine-sink": KnobSpec(bool, description="skip machine instruction sinking"),
    },
}

# Toolchain -> knob group (the tool taking the flags) -> allowed options. Drivers of other
# toolchains register theirs here; a plan for an unregistered toolchain is rejected.
KNOBS: dict[str, dict[str, dict[str, KnobSpec]]] = {"llvm": LLVM_KNOBS}

# gcc: the base level (-Os, or -Oz with `gcc.Oz`) and the --param limits that trade size most
# directly (inlining, cross-jumping, tail merging, switch lowering); the gcc driver writes them as
# `--param=NAME=N`. Defaults quoted are gcc 12's at -Os.
GCC_KNOBS: dict[str, dict[str, KnobSpec]] = {
    "gcc": {"Oz": KnobSpec(bool, description="base level -Oz instead of -Os (gcc 12 and later)")},
    "param": {
        "max-inline-insns-auto": KnobSpec(int, 0, 1_000, description="auto-inlining size limit (default 15)"),
        "max-inline-insns-single": KnobSpec(int, 0, 1_000, description="limit for `inline` functions (default 70)"),
        "max-inline-insns-size": KnobSpec(int, 0, 1_000, description="limit when optimising for size (0: unset)"),
        "early-inlining-insns": KnobSpec(int, 0, 1_000, description="early inliner growth allowed (default 6)"),
        "inline-unit-growth": KnobSpec(int, 0, 1_000, description="unit growth by inlining, in % (default 40)"),
        "large-function-growth": KnobSpec(int, 0, 1_000, description="large function growth, in % (default 100)"),
        "max-crossjump-edges": KnobSpec(int, 0, 10_000, description="incoming edges cross-jumping considers"),
        "min-crossjump-insns": KnobSpec(int, 1, 1_000, description="min common tail to cross-jump (default 1)"),
        "max-tail-merge-comparisons": KnobSpec(int, 0, 1_000, description="tail merge comparisons (default 10)"),
        "max-grow-copy-bb-insns": KnobSpec(int, 0, 100, description="block copying growth factor (default 8)"),
        "case-values-threshold": KnobSpec(int, 0, 1_000, description="min cases for a jump table (0: target's)"),
        "jump-table-max-growth-ratio-for-size": KnobSpec(
            int, 0, 10_000, description="jump table growth allowed at -Os, in % (default 300)"
        ),
    },
}
KNOBS["gcc"] = GCC_KNOBS
KNOBS["synthetic"] = {}  # a model, not a tool: nothing to set

# cranelift: passes are Cranelift settings (the driver checks them against its catalogue); the
# one knob is the optimisation level, which the reference sets to speed_and_size.
CRANELIFT_OPT_LEVELS = ("none", "speed", "speed_and_size")
CRANELIFT_KNOBS: dict[str, dict[str, KnobSpec]] = {
    "cranelift": {
        "opt_level": KnobSpec(
            str, choices=CRANELIFT_OPT_LEVELS, description="Cranelift optimisation level (default speed_and_size)"
        ),
    },
}
KNOBS["cranelift"] = CRANELIFT_KNOBS


# --- the plan -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PassStep:
    """One pass of a plan with its parameters (`{"level": "Oz"}`, `{"pre": false}`, ...)."""

    name: str
    params: dict[str, ParamValue] = dataclasses.field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.params.items()))))

    @classmethod
    def from_json(cls, data: Any, field: str = "pass") -> PassStep:
        """Parse one `{"name": ..., "params": {...}}` entry; `field` names it in errors."""
        if not isinstance(data, dict):
            raise PlanError(f"{field}: expected an object, got {json_type(data)}")
        _reject_unknown_keys(data, STEP_KEYS, field)
        if "name" not in data:
            raise PlanError(f"{field}.name: missing")
        name = data["name"]
        if not isinstance(name, str):
            raise PlanError(f"{field}.name: expected a string, got {json_type(name)}")
        if not _PASS_NAME.fullmatch(name):
            raise PlanError(f"{field}.name: {name!r} is not a pass name (lowercase letters, digits, '-', '.', '_')")
        params = data.get("params", {})
        if not isinstance(params, dict):
            raise PlanError(f"{field}.params: expected an object, got {json_type(params)}")
        for key, value in params.items():
            where = f"{field}.params.{key}"
            if not _PARAM_KEY.fullmatch(key):
                raise PlanError(f"{where}: not a parameter name (letters, digits, '-', '.', '_', '[', ']')")
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                if not 0 <= value <= _INT_MAX:
                    raise PlanError(f"{where}: {value} is outside the allowed range [0, {_INT_MAX}]")
            elif isinstance(value, str):
                if not _PARAM_STRING.fullmatch(value):
                    raise PlanError(f"{where}: {value!r} contains characters not allowed in a parameter value")
            else:
                raise PlanError(f"{where}: expected a boolean, integer or string, got {json_type(value)}")
        return cls(name, dict(params))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}


@dataclasses.dataclass(frozen=True)
class Plan:
    """A toolchain name, an ordered list of passes and allow-listed tool knobs."""

    toolchain: str
    passes: tuple[PassStep, ...]
    knobs: dict[str, dict[str, bool | int | str]] = dataclasses.field(default_factory=dict)

    def __hash__(self) -> int:
        return hash(self.content_hash())

    @classmethod
    def from_json(cls, data: Any) -> Plan:
        """Parse and validate a plan document (a decoded JSON object)."""
        if not isinstance(data, dict):
            raise PlanError(f"plan: expected an object, got {json_type(data)}")
        _reject_unknown_keys(data, PLAN_KEYS, "plan")
        for key in ("toolchain", "passes"):
            if key not in data:
                raise PlanError(f"{key}: missing")
        toolchain = data["toolchain"]
        if not isinstance(toolchain, str):
            raise PlanError(f"toolchain: expected a string, got {json_type(toolchain)}")
        if toolchain not in KNOBS:
            raise PlanError(f"toolchain: unknown toolchain {toolchain!r} (known: {', '.join(sorted(KNOBS))})")
        passes = data["passes"]
        if not isinstance(passes, list):
            raise PlanError(f"passes: expected an array, got {json_type(passes)}")
        steps = tuple(PassStep.from_json(step, f"passes[{index}]") for index, step in enumerate(passes))
        knobs = _parse_knobs(data.get("knobs", {}), KNOBS[toolchain])
        return cls(toolchain, steps, knobs)

    def to_json(self) -> dict[str, Any]:
        """The canonical document: every key present, empty knob groups dropped."""
        return {
            "toolchain": self.toolchain,
            "passes": [step.to_json() for step in self.passes],
            "knobs": {group: dict(values) for group, values in sorted(self.knobs.items()) if values},
        }

    def content_hash(self) -> str:
        """Hex SHA-256 of the plan's RFC 8785 canonical JSON: the plan's identity."""
        return hashlib.sha256(rfc8785.dumps(self.to_json())).hexdigest()

    def tool_flags(self, group: str) -> list[str]:
        """The command-line flags of one knob group (`"opt"`, `"llc"`), in a stable order."""
        specs = KNOBS[self.toolchain].get(group, {})
        return [specs[name].render(name, value) for name, value in sorted(self.knobs.get(group, {}).items())]

    def to_pipeline(self, catalogue: Iterable[PassInfo] | None = None) -> str:
        """The `opt -passes=` text for an llvm plan, each pass wrapped in its IR unit's adaptor.

        `catalogue` (default: the installed opt's) decides each pass's unit and checks names and
        parameters; tests extend it with LLVM's test passes (`trigger-crash-module`).
        """
        if self.toolchain != "llvm":
            raise PlanError(f"toolchain: a {self.toolchain!r} plan has no opt pipeline")
        index = _catalogue_index(tuple(catalogue) if catalogue is not None else _installed_catalogue())
        return render_pipeline(self.passes, index)


def read_document(path: str | Path) -> Any:
    """A JSON file's document; a missing, unreadable or malformed file is a one-line PlanError naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"{path}: not a JSON document: {exc}") from None


def load(path: str | Path) -> Plan:
    """Read a plan file; any problem is a one-line PlanError starting with the file name."""
    path = Path(path)
    data = read_document(path)
    try:
        return Plan.from_json(data)
    except PlanError as exc:
        raise PlanError(f"{path}: {exc}") from None


def reference_plan(toolchain: str) -> Plan:
    """The toolchain's standard size pipeline, the baseline every plan is measured against."""
    if toolchain == "llvm":
        return Plan("llvm", (PassStep("default", {"level": "Oz"}),), {})
    if toolchain == "gcc":
        return Plan("gcc", (), {})  # -Os with no flag changed
    if toolchain == "synthetic":
        return Plan("synthetic", (), {})  # no pass: the program's base size
    if toolchain == "cranelift":
        return Plan("cranelift", (), {"cranelift": {"opt_level": "speed_and_size"}})  # default settings
    raise PlanError(f"toolchain: no reference plan for {toolchain!r}")


def problem_toolchain(problem_class: str) -> str:
    """The toolchain a problem class is about: the part of its name before the first `/` (`llvm/text-bytes`)."""
    return problem_class.partition("/")[0]


def is_reference(plan: Plan) -> bool:
    """Whether `plan` is its toolchain's reference pipeline (never, for a toolchain without one)."""
    try:
        return plan == reference_plan(plan.toolchain)
    except PlanError:
        return False


# --- rendering llvm pipelines --------------------------------------------------------------------

# Loop passes that only run with MemorySSA; a loop group holding one is run under `loop-mssa`.
MEMORY_SSA_LOOP_PASSES = frozenset({"licm", "lnicm"})

_UNIT_ORDER = {"module": 0, "cgscc": 1, "function": 2, "loop": 3}


def render_pipeline(steps: Iterable[PassStep], catalogue: Mapping[str, PassInfo]) -> str:
    """Render steps as an opt pipeline: runs of cgscc passes share one `cgscc(...)`, runs of
    function and loop passes one `function(...)`, with consecutive loop passes in one `loop(...)`
    (`loop-mssa(...)` if any needs MemorySSA), matching how LLVM's own pipelines nest units."""
    rendered: list[tuple[str, str]] = []  # (kind, text)
    for index, step in enumerate(steps):
        info = catalogue.get(step.name)
        if info is None:
            raise PlanError(
                f"passes[{index}].name: llvm pass {step.name!r} is not allowed "
                "(plans may name only the curated catalogue: opm-adapter passes --toolchain llvm)"
            )
        rendered.append((info.kind, step.name + _render_params(step, info, f"passes[{index}].params")))
    out: list[str] = []
    position = 0
    while position < len(rendered):
        kind, text = rendered[position]
        if kind == "module":
            out.append(text)
            position += 1
            continue
        if kind == "cgscc":
            end = _run_end(rendered, position, {"cgscc"})
            out.append(f"cgscc({','.join(text for _, text in rendered[position:end])})")
            position = end
            continue
        end = _run_end(rendered, position, {"function", "loop"})
        out.append(f"function({','.join(_function_body(rendered[position:end]))})")
        position = end
    return ",".join(out)


def _run_end(rendered: list[tuple[str, str]], start: int, kinds: set[str]) -> int:
    end = start
    while end < len(rendered) and rendered[end][0] in kinds:
        end += 1
    return end


def _function_body(run: list[tuple[str, str]]) -> list[str]:
    body: list[str] = []
    position = 0
    while position < len(run):
        kind, text = run[position]
        if kind == "function":
            body.append(text)
            position += 1
            continue
        end = _run_end(run, position, {"loop"})
        texts = [text for _, text in run[position:end]]
        bare_names = {text.partition("<")[0] for text in texts}
        adaptor = "loop-mssa" if bare_names & MEMORY_SSA_LOOP_PASSES else "loop"
        body.append(f"{adaptor}({','.join(texts)})")
        position = end
    return body


def _render_params(step: PassStep, info: PassInfo, field: str) -> str:
    """`<level;flag;no-flag;key=value>` with keys sorted (JSON objects are unordered), checked
    against the pass's parameter schema. instcombine defaults to `no-verify-fixpoint`: with
    fixpoint verification on, arbitrary pass orders often abort opt 22 instead of optimising."""
    params = dict(step.params)
    if step.name == "instcombine" and "verify-fixpoint" not in params:
        params["verify-fixpoint"] = False
    _check_params(params, info.parameter_schema(), field)
    if not params:
        return ""
    negatable = _negatable_flags(info.parameters or "")
    parts: list[str] = []
    if "level" in params:
        parts.append(str(params.pop("level")))
    for key in sorted(params):
        value = params[key]
        if value is True:
            parts.append(key)
        elif value is False:
            if key in negatable:
                parts.append(f"no-{key}")
        else:
            parts.append(f"{key}={value}")
    return f"<{';'.join(parts)}>" if parts else ""


def _negatable_flags(parameters: str) -> set[str]:
    tokens = {token.strip() for token in parameters.split(";")}
    return {token for token in tokens if f"no-{token}" in tokens}


def _check_params(params: Mapping[str, ParamValue], schema: Mapping[str, Any], field: str) -> None:
    """Validate against the catalogue's small parameter schema (types, enums, required keys)."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    patterns = [(re.compile(pattern), spec) for pattern, spec in schema.get("patternProperties", {}).items()]
    for required in schema.get("required", []):
        if required not in params:
            raise PlanError(f"{field}.{required}: missing (required by this pass)")
    for key, value in params.items():
        spec = properties.get(key) or next((spec for regex, spec in patterns if regex.search(key)), None)
        if spec is None:
            known = ", ".join(sorted(properties)) or "none"
            raise PlanError(f"{field}.{key}: not a parameter of this pass (known: {known})")
        wanted = spec.get("type")
        matches = {
            "boolean": isinstance(value, bool),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "string": isinstance(value, str),
        }.get(wanted, True)
        if not matches:
            raise PlanError(f"{field}.{key}: expected {'an' if wanted == 'integer' else 'a'} {wanted}")
        if "enum" in spec and value not in spec["enum"]:
            raise PlanError(f"{field}.{key}: {value!r} is not one of {', '.join(spec['enum'])}")


def _catalogue_index(catalogue: Iterable[PassInfo]) -> dict[str, PassInfo]:
    """Name -> entry; a name registered for several units (guard-widening) takes the outermost."""
    index: dict[str, PassInfo] = {}
    for info in catalogue:
        current = index.get(info.name)
        if current is None or _UNIT_ORDER[info.kind] < _UNIT_ORDER[current.kind]:
            index[info.name] = info
    return index


@functools.cache
def _installed_catalogue() -> tuple[PassInfo, ...]:
    from adapters.toolchains.llvm import pass_catalogue

    return tuple(pass_catalogue())


# --- parsing helpers ------------------------------------------------------------------------------


def _parse_knobs(data: Any, groups: Mapping[str, Mapping[str, KnobSpec]]) -> dict[str, dict[str, bool | int | str]]:
    if not isinstance(data, dict):
        raise PlanError(f"knobs: expected an object, got {json_type(data)}")
    knobs: dict[str, dict[str, bool | int | str]] = {}
    for group, values in data.items():
        if group not in groups:
            raise PlanError(f"knobs.{group}: unknown knob group (known: {', '.join(sorted(groups))})")
        if not isinstance(values, dict):
            raise PlanError(f"knobs.{group}: expected an object, got {json_type(values)}")
        specs = groups[group]
        for name, value in values.items():
            if name not in specs:
                raise PlanError(f"knobs.{group}.{name}: not an allowed {group} option (allowed: {', '.join(specs)})")
            specs[name].check(f"knobs.{group}.{name}", value)
        if values:
            knobs[group] = dict(values)
    return knobs


def _reject_unknown_keys(data: Mapping[str, Any], allowed: frozenset[str], field: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        prefix = "" if field == "plan" else f"{field}."
        raise PlanError(f"{prefix}{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")


def json_type(value: Any) -> str:
    """How a JSON value's type reads in an error message ("an array", "a string", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


__all__ = [
    "GCC_KNOBS",
    "KNOBS",
    "LLVM_KNOBS",
    "KnobSpec",
    "PassStep",
    "Plan",
    "PlanError",
    "load",
    "reference_plan",
    "render_pipeline",
]
