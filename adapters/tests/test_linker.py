"""adapters.linker: static links with zig's runtime copied into the adapter's cache, run with the real zig."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from adapters import linker, sandbox
from adapters.cache import Cache
from adapters.drivers.llvm import FrontEnd, LLVMDriver
from adapters.plan import reference_plan

DATA = Path(__file__).parent / "data"


def _linker(cache_dir: Path) -> linker.StaticLinker:
    front = FrontEnd.zig()
    return linker.static_linker(
        zig=front.command[:-1],
        compile_flags=front.compile_flags,
        link_flags=front.link_flags,
        identity="test",
        cache=Cache(cache_dir),
        limits=sandbox.Limits(time_seconds=300.0),
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )


def test_the_link_command_names_only_the_adapter_cache_and_builds_a_running_program(tmp_path: Path) -> None:
    static = _linker(tmp_path / "cache")
    command = static.command(tmp_path / "prog.o", tmp_path / "prog")
    assert command[1] == "ld.lld"
    inputs = [part for part in command[2:] if part.startswith("/") and part != str(tmp_path / "prog")]
    assert inputs and all(Path(part).is_relative_to(tmp_path) for part in inputs), inputs
    assert all(Path(part).is_file() for part in inputs if part != str(tmp_path / "prog.o"))

    front = FrontEnd.zig()
    obj = tmp_path / "prog.o"
    subprocess.run([*front.command, *front.compile_flags, "-c", str(DATA / "crc32.c"), "-o", str(obj)], check=True)
    subprocess.run(command, check=True)
    ran = subprocess.run([str(tmp_path / "prog")], capture_output=True, text=True, check=True)
    assert ran.stdout.strip()


def test_concurrent_first_uses_set_the_runtime_up_once(tmp_path: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        linkers = list(pool.map(lambda _: _linker(tmp_path / "cache"), range(4)))
    assert len({static.directory for static in linkers}) == 1
    runtime_root = linkers[0].directory.parent
    assert [path.name for path in runtime_root.iterdir() if path.is_dir()] == [linkers[0].directory.name]


def test_the_llvm_driver_links_test_programs_with_it(tmp_path: Path) -> None:
    driver = LLVMDriver(cache_dir=tmp_path / "cache")
    measured = driver.measure(reference_plan("llvm"), DATA / "sort.c")
    assert measured.ok
    runtime = tmp_path / "cache" / "v1" / linker.RUNTIME_KIND
    assert any(path.name == linker.TEMPLATE for path in runtime.rglob("*"))
