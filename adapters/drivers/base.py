"""The one interface every toolchain driver implements, and what a measurement is.

A driver turns a program of the participant's corpus into an input artefact (`prepare`), runs a
plan on it (`apply`), and reports the plan's code size next to the toolchain's reference pipeline
(`measure`, `reference`) after checking the result still behaves like the reference (`verify`).
Anything a plan makes the toolchain do (crash, hang, miscompile) comes back as a Measurement
with a failure verdict; exceptions are kept for problems of the corpus or the installation.
"""

from __future__ import annotations

import abc
import dataclasses
from pathlib import Path
from typing import Any

from adapters.plan import Plan

OK = "ok"
MISCOMPILED = "miscompiled"


class CorpusError(ValueError):
    """A corpus program cannot be read, parsed or compiled; the one-line message names the file."""


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One program under one plan (or reference). `verdict` is "ok" or a one-line failure reason
    (`crash: signal 6 (SIGABRT)`, `timeout`, `out of memory`, `exit 1: ...`, `miscompiled`,
    `invalid IR: ...`); sizes are None when the failure left nothing to measure."""

    program: str
    text_bytes: int | None
    ir_instructions: int | None
    verdict: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == OK

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Measurement:
        return cls(**data)

    @classmethod
    def failed(cls, program: str, verdict: str, detail: str = "") -> Measurement:
        return cls(program, None, None, verdict, detail)


class Driver(abc.ABC):
    """A toolchain behind the common interface. Implementations must be safe to call from
    several threads at once (evaluation runs programs in parallel)."""

    name: str
    source_suffixes: tuple[str, ...] = ()
    """File name endings this driver accepts as corpus programs (e.g. `.c`, `.ll`)."""
    references: tuple[str, ...] = ("Oz",)
    """The reference pipelines `reference()` accepts as `kind`; the first is the default."""

    @abc.abstractmethod
    def catalogue(self) -> dict[str, Any]:
        """The catalogue document: `{"toolchain", "version", "passes": [...]}`."""

    @abc.abstractmethod
    def identity(self) -> str:
        """Tool versions and fixed flags; results are cached under it, so it changes with them."""

    @abc.abstractmethod
    def check_plan(self, plan: Plan) -> None:
        """Raise PlanError if this toolchain cannot run `plan` (unknown pass, bad parameter)."""

    @abc.abstractmethod
    def prepare(self, source: Path) -> Path:
        """The input artefact for `source` (for llvm: unoptimised IR), from the cache when possible."""

    @abc.abstractmethod
    def apply(self, plan: Plan, input: Path, out_object: Path) -> Measurement:
        """Run `plan` on a prepared input and write the object file; no behavioural check."""

    @abc.abstractmethod
    def verify(self, program: Path, out_object: Path) -> Measurement | None:
        """Check an object built from `program` behaves like the reference build; None if it
        does (or nothing can be checked), else a failed Measurement saying why."""

    @abc.abstractmethod
    def measure(self, plan: Plan, program: Path) -> Measurement:
        """Prepare, apply and verify `plan` on one corpus program."""

    @abc.abstractmethod
    def reference(self, program: Path, kind: str | None = None) -> Measurement:
        """The program under the toolchain's reference pipeline (`kind`, one of `references`;
        None for the first)."""

    def measurements_cacheable(self) -> bool:
        """Whether `identity()` covers everything that changes a measurement, so measurements may be
        stored across runs (`adapters.measurements`). Drivers built with test hooks say no."""
        return True

    def program_name(self, program: Path) -> str:
        """How a program is named in reports (local only: names never leave the adapter)."""
        return program.name


_REGISTRY: dict[str, type[Driver]] = {}


def register(name: str):
    """Class decorator adding a driver to the registry under `name`."""

    def decorate(cls: type[Driver]) -> type[Driver]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def driver_names() -> list[str]:
    return sorted(_REGISTRY)


def driver_class(name: str) -> type[Driver]:
    """The registered driver class for toolchain `name` (its class attributes, without constructing it)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown toolchain {name!r} (known: {', '.join(driver_names())})") from None


def get_driver(name: str, **options: Any) -> Driver:
    """A new driver for toolchain `name`; `options` go to its constructor (cache dir, limits...)."""
    return driver_class(name)(**options)
