"""Differential execution (docs/design.md §7): run a built program and compare what it did with the
reference build. Corpus programs print a checksum from `main`, so equal behaviour means equal exit
status, equal stdout and no crash; a plan whose program differs is `miscompiled`.

A library slice has no `main` to run, so what it must keep is its interface: every symbol the
reference object exports. Without that check a plan that internalises a module and lets dead-code
elimination delete it would pass the IR verifier as a 100% gain.

Shared by the drivers that link and run native programs, so all of them judge behaviour alike.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters import sandbox
from adapters.cache import content_key

RUN_ENV = {"PATH": "/usr/bin:/bin"}  # a test program gets no environment of the participant's


def run_program(executable: Path, limits: sandbox.Limits, cwd: Path) -> dict[str, Any]:
    """Run one program in the sandbox, its work directory `cwd` the only place it may write, and return
    its observed behaviour (JSON data, cacheable)."""
    ran = sandbox.run([str(executable)], limits=limits, cwd=cwd, env=RUN_ENV, writes=[cwd])
    crashed = ran.failure if ran.failure and not ran.failure.startswith("exit ") else None
    return {
        "returncode": ran.returncode,
        "failure": crashed,
        "stdout_sha256": content_key(ran.stdout),
        "stdout_head": sandbox.first_line(ran.stdout, 120) if ran.stdout.strip() else "",
    }


def mismatch(expected: dict[str, Any], got: dict[str, Any]) -> str | None:
    """None if `got` behaves like `expected`, else a one-line detail for the `miscompiled` verdict."""
    if got == expected:
        return None
    if got["failure"] is not None:
        return f"program: {got['failure']} (reference: exit {expected['returncode']})"
    return (
        f"program printed {got['stdout_head']!r} exit {got['returncode']}, "
        f"reference {expected['stdout_head']!r} exit {expected['returncode']}"
    )


def missing_exports(expected: list[str], out_object: Path) -> str | None:
    """None if the plan's object exports every symbol the reference exports, else a one-line detail
    for the `miscompiled` verdict naming the first few it dropped."""
    from adapters.elf import exported_symbols

    missing = sorted(set(expected) - set(exported_symbols(out_object)))
    if not missing:
        return None
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    return f"the plan's object no longer exports {shown} (the reference does)"


def record_interface(cache: Any, key: str, reference_object: Path) -> list[str]:
    """Cache the symbols a just-built reference object exports, so the export check needs no build of its own."""
    from adapters.elf import exported_symbols

    exported = exported_symbols(reference_object)
    cache.write_json("interface", key, {"exported": exported})
    return exported


def reference_interface(
    *,
    cache: Any,
    key: str,
    program: Path,
    label: str,
    reference: Callable[[], Any],
    build: Callable[[Path], Any],
) -> list[str]:
    """The symbols the reference build of `program` exports, cached under `key`.

    `reference()` is the driver's own reference, which records the interface when it builds; `build(obj)`
    builds the reference object again only for a reference cached before interfaces were recorded."""
    from adapters.drivers.base import CorpusError

    cached = cache.read_json("interface", key)
    if cached is None:
        reference()
        cached = cache.read_json("interface", key)
    if cached is not None:
        return cached["exported"]
    with tempfile.TemporaryDirectory(prefix="opm-") as work:
        obj = Path(work) / "reference.o"
        built = build(obj)
        if not built.ok:
            raise CorpusError(f"{program}: {label} fails: {built.verdict} ({built.detail})")
        return record_interface(cache, key, obj)


def reference_behaviour(
    *,
    cache: Any,
    key: str,
    program: Path,
    label: str,
    build: Callable[[Path], Any],
    link_and_run: Callable[[Path, Path], Any],
) -> dict[str, Any]:
    """What the reference build of `program` prints and returns, computed once and cached under `key`.

    `build(obj)` compiles the reference object and returns its Measurement; `link_and_run(obj, work)` returns
    the behaviour or a Measurement when linking fails. A reference that cannot build, link or run cleanly
    makes the program unusable for differential execution: a CorpusError naming it.
    """
    from adapters.drivers.base import CorpusError, Measurement

    cached = cache.read_json("run", key)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory(prefix="opm-") as work:
        obj = Path(work) / "reference.o"
        built = build(obj)
        if not built.ok:
            raise CorpusError(f"{program}: {label} fails: {built.verdict} ({built.detail})")
        behaviour = link_and_run(obj, Path(work))
    if isinstance(behaviour, Measurement):
        raise CorpusError(f"{program}: {label} does not link: {behaviour.verdict} ({behaviour.detail})")
    if behaviour["failure"] is not None:
        raise CorpusError(f"{program}: {label} does not run cleanly: {behaviour['failure']}")
    cache.write_json("run", key, behaviour)
    return behaviour


def compare_with_reference(
    *, name: str, expected: dict[str, Any], out_object: Path, link_and_run: Callable[[Path, Path], Any]
) -> Any:
    """Link and run the plan's object and compare it with the reference behaviour: None when they agree,
    else the failed Measurement (a link failure, or `miscompiled` with what differed)."""
    import dataclasses

    from adapters.drivers.base import MISCOMPILED, Measurement

    with tempfile.TemporaryDirectory(prefix="opm-") as work:
        got = link_and_run(Path(out_object), Path(work))
    if isinstance(got, Measurement):
        return dataclasses.replace(got, program=name)
    detail = mismatch(expected, got)
    return None if detail is None else Measurement.failed(name, MISCOMPILED, detail)


__all__ = [
    "RUN_ENV",
    "compare_with_reference",
    "missing_exports",
    "mismatch",
    "record_interface",
    "reference_behaviour",
    "reference_interface",
    "run_program",
]
