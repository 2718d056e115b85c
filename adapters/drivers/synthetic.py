"""The synthetic toolchain: a dummy benchmark whose optimum is known, for exact orchestrator tests.

A `SyntheticProblem` (seed, K passes `s00`..., optimum length L) hides a chain: the optimal
sequence o1..oL. A plan's modelled size is `base * product of one factor per pass occurrence`:

* a chain pass oi helps (factor gi < 1) if its prerequisite o(i-1) ran earlier (o1 always helps),
  else it costs a little (`MISPLACED`);
* every other pass is a decoy aimed at one chain pass: it helps a little (hd, weaker than any gi)
  unless its target is anywhere in the plan, when it costs (`CONFLICT`);
* running a pass again costs (`DUPLICATE`); some ordered pairs, run back to back, "crash".

Decoys aimed at oi together gain less than oi does (their product stays above gi), so a plan
missing oi, or running it out of order, is always worse: the chain in order, nothing else, is
the unique optimum among all plans of any length. From any prefix of the chain the best single
insertion is the next chain pass (decoys gain less than any chain pass), so greedy insertion
walks straight to the optimum; random search finds it on small instances.

A synthetic corpus is a directory of `*.syn` JSON files, variants of one problem: each has its
own base size and scales the ratio by its own exponent (`size = base * ratio ** weight`), so
variants gain differently but share the optimum. Sizes are whole bytes; for generated variants
(base >= 2000) the smallest relative gap to the optimum (`DUPLICATE ** 0.6`) is still > 5 bytes.
Measuring runs no subprocess and reads each file once: tens of thousands of measurements per second.

The "object" a plan builds is a JSON document: the passes, the sizes and the program's behaviour (what
its `main` would print, the same under every plan). It is verified like a real build: an object whose
sizes are not what its passes give is an `invalid object`, one behaving unlike the program is
`miscompiled`. The run time is modelled too (`SECONDS_PER_BYTE_PASS`): under a time limit, a plan whose
modelled run takes longer is a `timeout`. Both only show with the test hooks (`object_hook`,
`tool_limits`) the conformance harness uses; the model itself never miscompiles.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import random
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adapters import sandbox
from adapters.cache import Cache, content_key
from adapters.drivers.base import MISCOMPILED, CorpusError, Driver, Measurement, register
from adapters.plan import PassStep, Plan, PlanError

MODEL_VERSION = "1"
"""Changes whenever the model below changes, so cached results never mix two models."""

SUFFIX = ".syn"
REFERENCES = ("empty",)
"""`empty`: the plan without passes, i.e. the variant's base size (what `reference_plan` gives)."""

MISPLACED = 1.02  # a chain pass before its prerequisite
DUPLICATE = 1.01  # a pass run again
CONFLICT = 1.03  # a decoy in a plan that also runs its target
CRASH_VERDICT = "crash: signal 6 (SIGABRT)"  # what a real toolchain's assertion looks like
MAX_PASSES = 100  # names stay `s00`..`s99`
SECONDS_PER_BYTE_PASS = 1e-6  # modelled run time: a 10 KB program through a 4-pass plan "takes" 50 ms
OBJECT_FORMAT = "opm-synthetic-object/1"
INVALID_OBJECT = "invalid object"

_OPTIMUM_RATIO = (0.55, 0.70)  # the optimum's size ratio, drawn per problem
_DECOY_SHARE = (0.2, 0.8)  # decoys aimed at one chain pass gain at most gmax ** 0.8 together
_IR_EXPONENT = (0.5, 1.5)  # how strongly a pass's size effect shows in the IR count
_WEIGHT = (0.6, 1.4)  # variants: size = base * ratio ** weight


@dataclasses.dataclass(frozen=True)
class SyntheticPassInfo:
    """One catalogue entry (the same shape as the other toolchains' entries)."""

    name: str
    description: str
    kind: str = "synthetic"
    parameters: str | None = None

    def parameter_schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": {}, "additionalProperties": False}

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "parameters": self.parameters,
            "parameter_schema": self.parameter_schema(),
            "description": self.description,
        }


@dataclasses.dataclass(frozen=True)
class _Model:
    """The hidden part of a problem, derived from its seed."""

    names: tuple[str, ...]
    chain: tuple[str, ...]
    prerequisite: dict[str, str | None]
    gain: dict[str, float]  # chain pass -> factor when it runs after its prerequisite
    decoy: dict[str, tuple[str, float]]  # decoy -> (target chain pass, factor when the target is absent)
    ir_exponent: dict[str, float]
    crashes: frozenset[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class SyntheticProblem:
    """A problem instance: `passes` (K) synthetic passes, an optimal sequence of `length` (L)
    of them, `crash_pairs` ordered pairs that crash when run back to back; all else from `seed`."""

    seed: int = 0
    passes: int = 16
    length: int = 5
    crash_pairs: int = 3

    def __post_init__(self) -> None:
        for field in ("seed", "passes", "length", "crash_pairs"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{field}: expected a non-negative integer, got {value!r}")
        if not 1 <= self.length <= self.passes <= MAX_PASSES:
            raise ValueError(f"need 1 <= length <= passes <= {MAX_PASSES}: length {self.length}, passes {self.passes}")
        possible = self.passes * (self.passes - 1) - (self.length - 1)
        if self.crash_pairs > possible:
            raise ValueError(f"crash_pairs: at most {possible} pairs can crash without touching the optimum")

    @property
    def label(self) -> str:
        return f"seed {self.seed}, {self.passes} passes, optimum length {self.length}, {self.crash_pairs} crash pairs"

    def to_json(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> SyntheticProblem:
        if not isinstance(data, dict) or set(data) != {field.name for field in dataclasses.fields(cls)}:
            raise ValueError("problem: expected an object with exactly the keys seed, passes, length, crash_pairs")
        return cls(**data)

    @functools.cached_property
    def model(self) -> _Model:
        # A string seed is hashed by `random` (SHA-512), so the model is the same on every machine.
        rng = random.Random(f"opm-synthetic/{MODEL_VERSION}/{self.seed}/{self.passes}/{self.length}")
        names = tuple(f"s{index:02d}" for index in range(self.passes))
        chain = tuple(rng.sample(names, self.length))
        target_ratio = rng.uniform(*_OPTIMUM_RATIO)
        shares = [rng.uniform(0.5, 1.5) for _ in chain]
        gain = {name: target_ratio ** (share / sum(shares)) for name, share in zip(chain, shares, strict=True)}
        weakest_gain = max(gain.values())  # every decoy gains less than every chain pass
        decoys = [name for name in names if name not in gain]
        targets = {decoy: rng.choice(chain) for decoy in decoys}
        aimed = {name: sum(target == name for target in targets.values()) for name in chain}
        decoy = {
            name: (target, weakest_gain ** (rng.uniform(*_DECOY_SHARE) / aimed[target]))
            for name, target in targets.items()
        }
        prerequisite = {name: (chain[index - 1] if index else None) for index, name in enumerate(chain)}
        ir_exponent = {name: rng.uniform(*_IR_EXPONENT) for name in names}
        safe = {(chain[index - 1], chain[index]) for index in range(1, len(chain))}
        pairs = [(one, two) for one in names for two in names if one != two and (one, two) not in safe]
        crashes = frozenset(rng.sample(pairs, self.crash_pairs))
        return _Model(names, chain, prerequisite, gain, decoy, ir_exponent, crashes)

    @property
    def names(self) -> tuple[str, ...]:
        return self.model.names

    def crash(self, sequence: Sequence[str]) -> str | None:
        """Why the sequence "crashes" (it runs a crash pair back to back), or None."""
        crashes = self.model.crashes
        for first, second in zip(sequence, sequence[1:], strict=False):
            if (first, second) in crashes:
                return f"synthetic: {first} directly before {second} crashes"
        return None

    def ratios(self, sequence: Sequence[str]) -> tuple[float, float]:
        """(size ratio, IR ratio) of a pass sequence against the empty plan (crashes not checked)."""
        model = self.model
        present, seen = set(sequence), set()
        size = ir = 1.0
        for name in sequence:
            if name in seen:
                factor = DUPLICATE
            elif name in model.gain:
                before = model.prerequisite[name]
                factor = model.gain[name] if before is None or before in seen else MISPLACED
            else:
                target, gain = model.decoy[name]
                factor = CONFLICT if target in present else gain
            seen.add(name)
            size *= factor
            ir *= factor ** model.ir_exponent[name]
        return size, ir

    def variant(self, index: int) -> SyntheticProgram:
        """Program `index` of this problem's generated corpus (deterministic)."""
        rng = random.Random(f"opm-synthetic/{MODEL_VERSION}/{self.seed}/variant/{index}")
        base = rng.randint(2_000, 40_000)
        return SyntheticProgram(self, base, base // rng.randint(3, 6), round(rng.uniform(*_WEIGHT), 3))


@dataclasses.dataclass(frozen=True)
class SyntheticProgram:
    """One program of a synthetic corpus: a problem variant with its own sizes, the same optimum."""

    problem: SyntheticProblem
    base_bytes: int
    base_ir: int
    weight: float

    def __post_init__(self) -> None:
        if isinstance(self.base_bytes, bool) or not isinstance(self.base_bytes, int) or self.base_bytes < 1:
            raise ValueError(f"base_bytes: expected a positive integer, got {self.base_bytes!r}")
        if isinstance(self.base_ir, bool) or not isinstance(self.base_ir, int) or self.base_ir < 1:
            raise ValueError(f"base_ir: expected a positive integer, got {self.base_ir!r}")
        if isinstance(self.weight, bool) or not isinstance(self.weight, int | float) or not 0 < self.weight <= 10:
            raise ValueError(f"weight: expected a number in (0, 10], got {self.weight!r}")

    def sizes(self, sequence: Sequence[str]) -> tuple[int, int]:
        """(text bytes, IR instructions) of a pass sequence (crashes not checked)."""
        size, ir = self.problem.ratios(sequence)
        return round(self.base_bytes * size**self.weight), round(self.base_ir * ir**self.weight)

    def seconds(self, sequence: Sequence[str]) -> float:
        """The modelled run time of a pass sequence: each pass, and code generation, reads the program."""
        return self.base_bytes * (1 + len(sequence)) * SECONDS_PER_BYTE_PASS

    @functools.cached_property
    def behaviour(self) -> dict[str, Any]:
        """What the program does when run, under every plan: exit 0 and a checksum line, as corpus programs do."""
        digest = content_key("opm-synthetic-behaviour", json.dumps(self.to_json(), sort_keys=True))
        return {"returncode": 0, "stdout": f"synthetic {digest[:8]}"}

    def to_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem.to_json(),
            "base_bytes": self.base_bytes,
            "base_ir": self.base_ir,
            "weight": self.weight,
        }

    @classmethod
    def from_json(cls, data: Any) -> SyntheticProgram:
        keys = {"problem", "base_bytes", "base_ir", "weight"}
        if not isinstance(data, dict) or set(data) != keys:
            raise ValueError(f"expected an object with exactly the keys {', '.join(sorted(keys))}")
        return cls(SyntheticProblem.from_json(data["problem"]), data["base_bytes"], data["base_ir"], data["weight"])


def optimum(problem: SyntheticProblem) -> Plan:
    """The problem's unique optimal plan (for tests: a search should find exactly this)."""
    return Plan("synthetic", tuple(PassStep(name) for name in problem.model.chain), {})


def write_corpus(directory: Path, problem: SyntheticProblem | None = None, count: int = 8) -> list[Path]:
    """Write `count` variants of `problem` (default: the default problem) as `variant-NN.syn`."""
    problem = problem or SyntheticProblem()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = directory / f"variant-{index:02d}{SUFFIX}"
        path.write_text(json.dumps(problem.variant(index).to_json(), indent=2) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


@register("synthetic")
class SyntheticDriver(Driver):
    """The synthetic benchmark behind the Driver interface. Programs must be variants of the
    driver's problem (default: `SyntheticProblem()`). Measurements are not cached (computing one is
    cheaper than reading a cache entry); `cache_dir` holds only the files `program_file` writes.

    `tool_limits` bounds the modelled run time (None: no limit); `object_hook` rewrites each object
    before it is checked, for fault-injection tests of the verifier only.
    """

    source_suffixes = (SUFFIX,)
    references = REFERENCES

    def __init__(
        self,
        *,
        problem: SyntheticProblem | None = None,
        cache_dir: Path | None = None,
        tool_limits: sandbox.Limits | None = None,
        object_hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self._options: dict[str, Any] = {
            "problem": problem,
            "cache_dir": cache_dir,
            "tool_limits": tool_limits,
            "object_hook": object_hook,
        }
        self.problem = problem or SyntheticProblem()
        self._files = Cache(cache_dir)  # not `cache`: the CLI would store measurements there
        self.tool_limits = tool_limits
        self.object_hook = object_hook
        self._lock = threading.Lock()
        self._programs: dict[Path, tuple[tuple[int, int], SyntheticProgram]] = {}

    def variant(self, **changes: Any) -> SyntheticDriver:
        """A new driver with some constructor options changed (limits, hook); the conformance harness
        builds its impatient and faulty drivers this way."""
        unknown = sorted(set(changes) - set(self._options))
        if unknown:
            raise TypeError(f"variant() cannot change {', '.join(unknown)}")
        return SyntheticDriver(**{**self._options, **changes})

    def catalogue(self) -> dict[str, Any]:
        model = self.problem.model
        return {
            "toolchain": "synthetic",
            "version": self.version(),
            "passes": [
                SyntheticPassInfo(
                    name, f"Synthetic pass {name} ({self.problem.label}); its effect depends on what ran before it."
                ).as_json()
                for name in model.names
            ],
        }

    def version(self) -> str:
        """Model version and problem, short enough for a catalogue's toolchain version."""
        problem = self.problem
        return f"model-{MODEL_VERSION} seed-{problem.seed} k{problem.passes} l{problem.length} c{problem.crash_pairs}"

    def identity(self) -> str:
        return content_key("synthetic", MODEL_VERSION, json.dumps(self.problem.to_json(), sort_keys=True))

    def check_plan(self, plan: Plan) -> None:
        if plan.toolchain != "synthetic":
            raise PlanError(f"toolchain: the synthetic driver cannot run a {plan.toolchain!r} plan")
        names = self.problem.model.ir_exponent  # a dict: fast membership
        for index, step in enumerate(plan.passes):
            if step.name not in names:
                last = self.problem.model.names[-1]
                raise PlanError(f"passes[{index}].name: unknown synthetic pass {step.name!r} (known: s00..{last})")
            if step.params:
                raise PlanError(f"passes[{index}].params: synthetic passes take no parameters")
        if any(plan.knobs.values()):
            raise PlanError("knobs: the synthetic toolchain has no knobs")

    def program(self, source: Path) -> SyntheticProgram:
        """The parsed program, read once per file version. Raises CorpusError naming the file."""
        source = Path(source)
        try:
            stat = source.stat()
        except OSError as exc:
            raise CorpusError(f"{source}: cannot read: {exc.strerror or exc}") from None
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            known = self._programs.get(source)
        if known is not None and known[0] == version:
            return known[1]
        if source.suffix != SUFFIX:
            raise CorpusError(f"{source}: not a synthetic program ({SUFFIX} file)")
        try:
            program = SyntheticProgram.from_json(json.loads(source.read_text(encoding="utf-8")))
        except OSError as exc:
            raise CorpusError(f"{source}: cannot read: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError) as exc:
            raise CorpusError(f"{source}: not a synthetic program: {exc}") from None
        if program.problem != self.problem:
            raise CorpusError(
                f"{source}: a variant of another synthetic problem ({program.problem.label}); "
                f"this driver runs {self.problem.label}"
            )
        with self._lock:
            self._programs[source] = (version, program)
        return program

    def program_file(self, index: int = 0) -> Path:
        """Variant `index` of the driver's problem as a `.syn` file in the cache directory (written
        once): a program to probe the driver with when no corpus is at hand."""
        data = (json.dumps(self.problem.variant(index).to_json(), indent=2) + "\n").encode()
        key, name = content_key("synthetic-program", data), f"/variant-{index:02d}{SUFFIX}"  # keeps corpus names
        path = self._files.path("synthetic", key, name)
        return path if path.is_file() else self._files.write_bytes("synthetic", key, data, name)

    def prepare(self, source: Path) -> Path:
        """A synthetic program is its own input; preparing checks that it parses."""
        self.program(source)
        return Path(source)

    def apply(self, plan: Plan, input: Path, out_object: Path) -> Measurement:
        """Writes the object document (JSON), so `opm-adapter apply` works too; no behavioural check.
        A failed build writes nothing."""
        result, document = self._build(plan, input)
        if document is not None:
            document = {"plan": plan.content_hash(), **document}  # hashed here only: measuring stays fast
            Path(out_object).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return result

    def _build(self, plan: Plan, source: Path) -> tuple[Measurement, dict[str, Any] | None]:
        """The modelled build: crash pairs, the time limit, then the object (through the hook, if any),
        whose sizes are read back from it after a structural check, as an IR verifier would run."""
        self.check_plan(plan)
        name = self.program_name(Path(source))
        parsed = self.program(source)
        sequence = [step.name for step in plan.passes]
        crash = parsed.problem.crash(sequence)
        if crash is not None:
            return Measurement.failed(name, CRASH_VERDICT, crash), None
        if self.tool_limits is not None:
            seconds, limit = parsed.seconds(sequence), self.tool_limits.time_seconds
            if seconds > limit:
                detail = f"synthetic: the modelled run takes {seconds * 1000:g} ms, the limit is {limit * 1000:g} ms"
                return Measurement.failed(name, "timeout", detail), None
        text_bytes, ir_instructions = parsed.sizes(sequence)
        document: dict[str, Any] = {
            "format": OBJECT_FORMAT,
            "passes": sequence,
            "program": name,
            "text_bytes": text_bytes,
            "ir_instructions": ir_instructions,
            "verdict": "ok",
            "detail": "",
            "behaviour": parsed.behaviour,
        }
        if self.object_hook is not None:  # the model's own object passes the structural check by construction
            document = self.object_hook(copy.deepcopy(document))
            problem = _object_problem(document, parsed)
            if problem is not None:
                return Measurement.failed(name, f"{INVALID_OBJECT}: {problem}", "verify: the object's structure"), None
        return Measurement(name, document["text_bytes"], document["ir_instructions"], "ok"), document

    def verify(self, program: Path, out_object: Path) -> Measurement | None:
        """The object file's structure and sizes checked against the model, then its behaviour compared
        with the program's: None if both agree, else the failed Measurement (`invalid object`, `miscompiled`)."""
        name = self.program_name(Path(program))
        parsed = self.program(program)
        try:
            document = json.loads(Path(out_object).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return Measurement.failed(name, f"{INVALID_OBJECT}: not a JSON document ({exc})", "verify")
        problem = _object_problem(document, parsed)
        if problem is not None:
            return Measurement.failed(name, f"{INVALID_OBJECT}: {problem}", "verify: the object's structure")
        return _behaviour_mismatch(name, document, parsed)

    def measure(self, plan: Plan, program: Path) -> Measurement:
        result, document = self._build(plan, program)
        if document is None:
            return result
        failure = _behaviour_mismatch(result.program, document, self.program(program))
        if failure is not None:
            return dataclasses.replace(failure, text_bytes=result.text_bytes, ir_instructions=result.ir_instructions)
        return result

    def reference(self, program: Path, kind: str | None = None) -> Measurement:
        """`empty`: the variant's base size and IR count (no pass run)."""
        kind = kind or REFERENCES[0]
        if kind not in REFERENCES:
            raise ValueError(f"unknown reference {kind!r} (known: {', '.join(REFERENCES)})")
        parsed = self.program(program)
        return Measurement(self.program_name(Path(program)), parsed.base_bytes, parsed.base_ir, "ok")


_OBJECT_KEYS = {
    "format": str,
    "passes": list,
    "program": str,
    "text_bytes": int,
    "ir_instructions": int,
    "verdict": str,
    "detail": str,
    "behaviour": dict,
}


def _object_problem(document: Any, program: SyntheticProgram) -> str | None:
    """What is structurally wrong with an object document, or None: the synthetic IR verifier. The
    sizes must be exactly what the model gives the object's own passes."""
    if not isinstance(document, dict):
        return "not a JSON object"
    missing = sorted(set(_OBJECT_KEYS) - set(document))
    if missing:
        return f"missing {', '.join(missing)}"
    for key, kind in _OBJECT_KEYS.items():
        value = document[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"{key}: expected {kind.__name__}, got {type(value).__name__}"
    if document["format"] != OBJECT_FORMAT:
        return f"format: expected {OBJECT_FORMAT!r}, got {document['format']!r}"
    passes = document["passes"]
    names = program.problem.model.ir_exponent
    if not all(isinstance(name, str) and name in names for name in passes):
        return "passes: not a list of this problem's passes"
    expected = program.sizes(passes)
    got = (document["text_bytes"], document["ir_instructions"])
    if got != expected:
        return f"sizes {got[0]} bytes, {got[1]} IR instructions; its passes give {expected[0]}, {expected[1]}"
    return None


def _behaviour_mismatch(name: str, document: dict[str, Any], program: SyntheticProgram) -> Measurement | None:
    """Differential execution in the model: the object must behave as the program does."""
    got, expected = document["behaviour"], program.behaviour
    if got == expected:
        return None
    detail = (
        f"program printed {got.get('stdout')!r} exit {got.get('returncode')}, "
        f"reference {expected['stdout']!r} exit {expected['returncode']}"
    )
    return Measurement.failed(name, MISCOMPILED, detail)


__all__ = [
    "CONFLICT",
    "DUPLICATE",
    "MISPLACED",
    "CRASH_VERDICT",
    "INVALID_OBJECT",
    "OBJECT_FORMAT",
    "REFERENCES",
    "SECONDS_PER_BYTE_PASS",
    "SyntheticDriver",
    "SyntheticPassInfo",
    "SyntheticProblem",
    "SyntheticProgram",
    "optimum",
    "write_corpus",
]
