"""The Cranelift toolchain: wasmtime's code generator, its settings catalogue, and the worker process.

A plan for `cranelift` sets Cranelift settings (one pass per setting) and the optimisation level
(`knobs.cranelift.opt_level`) of a wasmtime Engine, which compiles a WebAssembly module to
x86-64 machine code. wasmtime aborts the whole process on a bad setting (its C API unwraps the
error) and Cranelift can crash on legal ones, so nothing here loads wasmtime into the caller:
compiling and running happen in a worker process (`python -m adapters.toolchains.cranelift`)
that the driver starts through the sandbox.

The artefact is `Module.serialize()`: an ELF relocatable object whose `.text` section holds the
compiled functions (every wasm function, the host/wasm trampolines and wasmtime's builtins), one
`STT_FUNC` symbol each, padded with zeros to a 4 KiB page at the end; `.wasmtime.engine` records
the target and every Cranelift setting the code was compiled with.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from adapters.plan import CRANELIFT_OPT_LEVELS, PlanError
from adapters.toolchains import ToolchainUnavailable

WHEEL = "wasmtime==50.0.1"
TARGET = "x86_64-unknown-linux-gnu"
"""Set explicitly, which stops wasmtime from enabling the host CPU's extensions: every machine
compiles for the x86-64 baseline, so sizes are comparable between participants."""

OPT_LEVELS = CRANELIFT_OPT_LEVELS
REFERENCE_OPT_LEVEL = "speed_and_size"
GUEST_MEMORY_BYTES = 256 * 1024**2
"""Linear memory a test program may grow to; the worker's address-space limit must still cover
wasmtime's 4 GiB reservation per memory, so this store limit is what bounds real memory use."""

SettingKind = Literal["bool", "enum", "int"]
SettingValue = bool | int | str


@dataclasses.dataclass(frozen=True)
class Setting:
    """One Cranelift setting a plan may set: its type, default (wasmtime 50's), allowed values."""

    name: str
    kind: SettingKind
    default: SettingValue
    description: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def parameter_schema(self) -> dict[str, Any]:
        """JSON Schema of the pass's params: one `value` (a bare boolean setting may omit it: true)."""
        value: dict[str, Any] = {"default": self.default}
        if self.kind == "bool":
            value["type"] = "boolean"
        elif self.kind == "enum":
            value.update(type="string", enum=list(self.choices))
        else:
            value.update(type="integer", minimum=self.minimum, maximum=self.maximum)
        schema: dict[str, Any] = {"type": "object", "properties": {"value": value}, "additionalProperties": False}
        if self.kind != "bool":
            schema["required"] = ["value"]
        return schema

    def check(self, value: Any, field: str) -> None:
        """Raise PlanError (one line, naming `field`) unless `value` is allowed for this setting."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise PlanError(f"{field}: {self.name} takes a boolean")
        elif self.kind == "enum":
            if value not in self.choices:
                raise PlanError(f"{field}: {value!r} is not one of {', '.join(self.choices)}")
        elif isinstance(value, bool) or not isinstance(value, int):
            raise PlanError(f"{field}: {self.name} takes an integer")
        elif not (self.minimum or 0) <= value <= (self.maximum or 0):
            raise PlanError(f"{field}: {value} is outside the allowed range [{self.minimum}, {self.maximum}]")

    def render(self, value: SettingValue) -> str:
        """The text `Config.cranelift_flag_set` takes."""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def as_json(self) -> dict[str, Any]:
        parameters = {"bool": "value=bool", "enum": f"value={'|'.join(self.choices)}", "int": "value=N"}[self.kind]
        return {
            "name": self.name,
            "kind": "setting",
            "parameters": parameters,
            "parameter_schema": self.parameter_schema(),
            "description": self.description,
        }


# Defaults are wasmtime 50's (read back from a compiled artefact by the tests). Every name here was
# checked to be accepted with each allowed value and to compile and run the corpus.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "regalloc_algorithm",
        "enum",
        "backtracking",
        "Register allocator: regalloc2's backtracking allocator, or its single-pass allocator, which "
        "compiles faster and emits roughly twice the code.",
        choices=("backtracking", "single_pass"),
    ),
    Setting(
        "enable_alias_analysis",
        "bool",
        True,
        "Alias analysis in the mid-end: forwards stored values to later loads and removes redundant "
        "loads when no store in between can alias them.",
    ),
    Setting(
        "enable_verifier",
        "bool",
        False,
        "Run Cranelift's IR verifier during compilation; emits the same code, but a function that "
        "fails the check fails compilation.",
    ),
    Setting(
        "regalloc_checker",
        "bool",
        False,
        "Check the register allocation of every function symbolically; emits the same code or fails.",
    ),
    Setting(
        "enable_nan_canonicalization",
        "bool",
        False,
        "Canonicalise the NaN results of float arithmetic (deterministic NaN bits, at the cost of a "
        "compare and select after each float operation).",
    ),
    Setting(
        "enable_heap_access_spectre_mitigation",
        "bool",
        True,
        "Clamp the address of explicitly bounds-checked linear-memory accesses against speculation; "
        "no effect where wasmtime relies on guard pages instead of bounds checks.",
    ),
    Setting(
        "enable_table_access_spectre_mitigation",
        "bool",
        True,
        "Clamp the index of table accesses (`call_indirect`, `table.get`) against speculation.",
    ),
    Setting(
        "probestack_size_log2",
        "int",
        12,
        "log2 of the stack probe interval in bytes (12 = 4 KiB): frames larger than it touch each "
        "page in the prologue, so they cannot skip the stack's guard page. 0 crashes wasmtime 50's "
        "compiler, hence the range.",
        minimum=4,
        maximum=16,
    ),
    Setting(
        "is_pic",
        "bool",
        False,
        "Generate position-independent code (calls and data references go through relative or indirect addressing).",
    ),
    Setting(
        "log2_min_function_alignment",
        "int",
        0,
        "Minimum alignment of every function, log2 bytes; the padding between functions counts "
        "towards the measured size.",
        minimum=0,
        maximum=12,
    ),
)

EXCLUDED: dict[str, str] = {
    "opt_level": "the optimisation level is the knob `knobs.cranelift.opt_level`, not a pass",
    "preserve_frame_pointers": "wasmtime forces it on; a plan's value would be ignored",
    "probestack_strategy": "wasmtime forces inline probes; a plan's value would be ignored",
    "enable_probestack": "wasmtime forces it on (stack probes guard its stacks); a plan's value would be ignored",
    "libcall_call_conv": "wasmtime rejects any value but the default (not compatible with the host)",
    "use_colocated_libcalls": "wasmtime rejects any value but the default (not compatible with the host)",
    "enable_pinned_reg": "wasmtime rejects any value but the default (not compatible with the host)",
    "enable_llvm_abi_extensions": "wasmtime rejects any value but the default (not compatible with the host)",
    "enable_multi_ret_implicit_sret": "an ABI switch wasmtime needs for multi-value returns, not an optimisation",
    "tls_model": "code compiled from wasm has no thread-local storage",
    "stack_switch_model": "only used by the stack-switching proposal, which is off",
    "unwind_info": "only changes the unwind tables next to the code, which the size objective does not count",
    "enable_compact_unwind_abi": "only changes the unwind tables next to the code (and only on macOS)",
    "machine_code_cfg_info": "only records control-flow metadata; the code is the same",
    "regalloc_verbose_logs": "a diagnostic of the compiler itself",
    "enable_incremental_compilation_cache_checks": "a diagnostic of the compiler's incremental cache",
    "bb_padding_log2_minus_one": "a code generator stress test that pads every basic block; it only grows code",
}
"""Cranelift's other shared settings, and why a plan may not set them. ISA flags (`has_*`) are
left at the baseline of TARGET: like llc's `-mcpu`, the target is not a plan's to choose."""


def setting_index() -> dict[str, Setting]:
    return {setting.name: setting for setting in SETTINGS}


def wasmtime_version() -> str:
    """The installed wasmtime package's version, read without loading wasmtime."""
    try:
        return importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:
        raise ToolchainUnavailable(f"wasmtime not found: install the wheel (pip install '{WHEEL}')") from None


def catalogue() -> dict[str, Any]:
    """The catalogue document of `opm-adapter passes --toolchain cranelift`."""
    return {
        "toolchain": "cranelift",
        "version": wasmtime_version(),
        "passes": [setting.as_json() for setting in SETTINGS],
    }


# --- the artefact ---------------------------------------------------------------------------------


def machine_code_bytes(path: Path) -> int:
    """Bytes of machine code in a serialized module: for each executable section, the offset where
    its last function ends. Padding between functions counts (it is loaded with the code, as in
    an object's `.text`); the zeros wasmtime appends to fill the last page do not."""
    wanted = SH_FLAGS.SHF_ALLOC | SH_FLAGS.SHF_EXECINSTR
    with open(path, "rb") as stream:
        elf = ELFFile(stream)
        executable = {
            index for index, section in enumerate(elf.iter_sections()) if section["sh_flags"] & wanted == wanted
        }
        ends: dict[int, int] = {}
        symbols = elf.get_section_by_name(".symtab")
        for symbol in symbols.iter_symbols() if symbols is not None else ():
            section = symbol["st_shndx"]
            if symbol["st_info"]["type"] == "STT_FUNC" and section in executable:
                ends[section] = max(ends.get(section, 0), symbol["st_value"] + symbol["st_size"])
    return sum(ends.values())


@dataclasses.dataclass(frozen=True)
class EngineMetadata:
    """What `.wasmtime.engine` says the code was compiled for: target and every setting's value."""

    wasmtime: str
    target: str
    shared: dict[str, SettingValue]
    isa: dict[str, SettingValue]


def engine_metadata(path: Path) -> EngineMetadata:
    """Decode the `.wasmtime.engine` section of a serialized module (wasmtime's own format: a
    version byte and string, then postcard-encoded target and setting lists). Raises ValueError
    when the section is missing or does not decode, e.g. after a wasmtime upgrade."""
    with open(path, "rb") as stream:
        section = ELFFile(stream).get_section_by_name(".wasmtime.engine")
        if section is None:
            raise ValueError("no .wasmtime.engine section")
        reader = _Postcard(section.data())
    try:
        reader.byte()  # format version
        version = reader.raw(reader.byte()).decode()
        target = reader.string()
        shared = dict(reader.setting() for _ in range(reader.varint()))
        isa = dict(reader.setting() for _ in range(reader.varint()))
    except (IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"undecodable .wasmtime.engine section: {exc}") from None
    return EngineMetadata(version, target, shared, isa)


class _Postcard:
    """Just enough of the postcard encoding for wasmtime's engine metadata."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def byte(self) -> int:
        value = self.data[self.position]
        self.position += 1
        return value

    def raw(self, length: int) -> bytes:
        if self.position + length > len(self.data):
            raise IndexError("truncated")
        value = self.data[self.position : self.position + length]
        self.position += length
        return value

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def string(self) -> str:
        return self.raw(self.varint()).decode()

    def setting(self) -> tuple[str, SettingValue]:
        name = self.string()
        variant = self.varint()  # cranelift's FlagValue: Enum(String), Num(u8), Bool(bool)
        if variant == 0:
            return name, self.string()
        if variant == 1:
            return name, self.byte()
        if variant == 2:
            return name, bool(self.byte())
        raise IndexError(f"unknown setting value variant {variant}")


# --- the worker: the only code that loads wasmtime ------------------------------------------------


def worker_command(*arguments: str) -> list[str]:
    """argv of a worker process (run it through the sandbox, with `worker_env()`)."""
    return [sys.executable, "-m", "adapters.toolchains.cranelift", *arguments]


def worker_env() -> dict[str, str]:
    """The caller's environment, with this package importable and Rust's backtraces off (a panic
    then prints its one-line message, not a page of frames)."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root, "RUST_BACKTRACE": "0"}


def encode_config(opt_level: str, settings: Mapping[str, str]) -> str:
    """The engine configuration as the worker's JSON argument (values already rendered as text)."""
    return json.dumps({"opt_level": opt_level, "settings": dict(sorted(settings.items()))}, sort_keys=True)


def _engine(config_json: str):
    import wasmtime

    document = json.loads(config_json)
    config = wasmtime.Config()
    config.target = TARGET
    config.cranelift_opt_level = document["opt_level"]
    for name, value in document["settings"].items():
        config.cranelift_flag_set(name, value)
    return wasmtime.Engine(config)


def _compile(config_json: str, wasm: Path, artefact: Path) -> int:
    import wasmtime

    engine = _engine(config_json)
    try:
        module = wasmtime.Module(engine, wasm.read_bytes())
    except wasmtime.WasmtimeError as exc:
        print(f"error: {_first_line(str(exc))}", file=sys.stderr)
        return 1
    artefact.write_bytes(module.serialize())
    return 0


def _run(config_json: str, artefact: Path, stdout: Path, program: str) -> int:
    """Run a WASI command module's `_start` with stdout to a file, no environment and no files;
    print `{"exit": status}` or `{"trap": message}` on the worker's own stdout."""
    import wasmtime

    engine = _engine(config_json)
    try:
        module = wasmtime.Module.deserialize(engine, artefact.read_bytes())
    except wasmtime.WasmtimeError as exc:
        print(f"error: {_first_line(str(exc))}", file=sys.stderr)
        return 1
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    store.set_limits(memory_size=GUEST_MEMORY_BYTES)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [program]
    wasi.stdout_file = str(stdout)
    store.set_wasi(wasi)
    outcome: dict[str, Any]
    try:
        start = linker.instantiate(store, module).exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        start(store)
        outcome = {"exit": 0}
    except wasmtime.ExitTrap as exit:
        outcome = {"exit": exit.code}
    except (wasmtime.Trap, wasmtime.WasmtimeError) as trap:
        outcome = {"trap": _first_line(str(trap))}
    print(json.dumps(outcome))
    return 0


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no message")


def main(argv: Sequence[str] | None = None) -> int:
    """The worker's entry point: `compile CONFIG IN.wasm OUT.cwasm` or `run CONFIG IN.cwasm STDOUT NAME`."""
    parser = argparse.ArgumentParser(prog="python -m adapters.toolchains.cranelift")
    commands = parser.add_subparsers(dest="command", required=True)
    compile_parser = commands.add_parser("compile")
    compile_parser.add_argument("config")
    compile_parser.add_argument("wasm", type=Path)
    compile_parser.add_argument("artefact", type=Path)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("config")
    run_parser.add_argument("artefact", type=Path)
    run_parser.add_argument("stdout", type=Path)
    run_parser.add_argument("program")
    args = parser.parse_args(argv)
    if args.command == "compile":
        return _compile(args.config, args.wasm, args.artefact)
    return _run(args.config, args.artefact, args.stdout, args.program)


if __name__ == "__main__":
    raise SystemExit(main())
