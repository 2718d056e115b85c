"""adapters.corpora: slicing (pure), musl's file selection, and materializing a slice that evaluates."""

from __future__ import annotations

import hashlib
import json
import subprocess
from itertools import combinations
from pathlib import Path

import pytest

from adapters import corpora
from adapters.cli import main
from adapters.drivers.base import CorpusError
from adapters.drivers.llvm import LLVMDriver
from adapters.evaluate import evaluate
from adapters.plan import reference_plan
from adapters.toolchains.llvm import tool_path

NAMES = [f"src/dir{number % 37}/file{number}.c" for number in range(1000)]


@pytest.mark.parametrize("count", [1, 3, 4, 7, 200])
def test_slices_are_disjoint_balanced_and_cover_the_list(count: int) -> None:
    slices = [corpora.slice_files(NAMES, index, count) for index in range(1, count + 1)]
    assert sorted(name for part in slices for name in part) == sorted(NAMES)
    assert all(set(a).isdisjoint(b) for a, b in combinations(slices, 2))
    assert max(map(len, slices)) - min(map(len, slices)) <= 1
    assert all(part == sorted(part) for part in slices)
    assert slices == [corpora.slice_files(list(reversed(NAMES)), index, count) for index in range(1, count + 1)]


def test_a_slice_spreads_over_the_whole_list() -> None:
    first = corpora.slice_files(NAMES, 1, 4)
    assert len({name.split("/")[1] for name in first}) == 37  # every directory, not a contiguous run


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "1-4", "a/b", ""])
def test_bad_slices_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="slice"):
        corpora.parse_slice(text)


def test_slice_numbers_start_at_one() -> None:
    assert corpora.parse_slice(" 3/8 ") == (3, 8)
    with pytest.raises(ValueError):
        corpora.slice_files(NAMES, 0, 4)


def test_musl_files_follow_its_makefile() -> None:
    files = corpora.codebase("musl").files()
    assert len(files) == len(set(files)) == 1030
    assert "src/stdio/printf.c" in files
    assert "src/math/x86_64/fma.c" in files and "src/math/fma.c" not in files  # replaced by the x86_64 C file
    assert "src/math/expl.c" not in files  # replaced by x86_64 assembly
    assert not [name for name in files if "/aarch64/" in name or not name.startswith("src/")]
    assert len({corpora.module_name(name) for name in files}) == len(files)
    assert corpora.module_name("src/math/x86_64/fma.c") == "math.x86_64.fma.ll"


def test_wasi_libc_is_refused_with_the_reason() -> None:
    with pytest.raises(CorpusError, match="no WebAssembly back end"):
        corpora.codebase("wasi-libc")


@pytest.fixture(scope="module")
def slice_dir(tmp_path_factory: pytest.TempPathFactory, adapter_cache: Path) -> Path:
    directory = tmp_path_factory.mktemp("musl") / "slice"
    corpora.materialize("musl", 1, 200, directory, jobs=4, cache_dir=adapter_cache)
    return directory


def test_the_manifest_is_complete(slice_dir: Path) -> None:
    manifest = json.loads((slice_dir / corpora.MANIFEST).read_text())
    musl = corpora.codebase("musl")
    expected = corpora.slice_files(musl.files(), 1, 200)
    listed = [entry["source"] for entry in manifest["files"] + manifest["skipped"]]
    assert sorted(listed) == expected
    assert (manifest["source"], manifest["slice"]["index"], manifest["slice"]["count"]) == ("musl", 1, 200)
    assert manifest["counts"]["source_files"] == 1030
    assert manifest["counts"]["compiled"] == len(manifest["files"]) > 0
    assert sum(manifest["counts"]["skipped"].values()) == len(manifest["skipped"])
    modules = sorted(path.name for path in slice_dir.glob("*.ll"))
    assert modules == sorted(entry["module"] for entry in manifest["files"])
    for entry in manifest["files"]:
        assert hashlib.sha256((musl.root / entry["source"]).read_bytes()).hexdigest() == entry["source_sha256"]
        assert hashlib.sha256((slice_dir / entry["module"]).read_bytes()).hexdigest() == entry["module_sha256"]
    assert "-D_XOPEN_SOURCE=700" in manifest["compiler"]["codebase"]


def test_the_modules_parse_and_evaluate(slice_dir: Path, adapter_cache: Path) -> None:
    opt = tool_path("opt")
    for module in slice_dir.glob("*.ll"):
        text = module.read_text()
        assert str(Path.home()) not in text and "/tmp/" not in text  # no path of this machine in the IR
        assert subprocess.run([opt, "-passes=verify", "-disable-output", module], check=False).returncode == 0
    report = evaluate(reference_plan("llvm"), slice_dir, driver=LLVMDriver(cache_dir=adapter_cache))
    assert report.failures == 0 and len(report.programs) == len(list(slice_dir.glob("*.ll")))
    assert all(result.reference_bytes > 0 and result.ratio == 1.0 for result in report.programs)


def test_a_rerun_is_idempotent_and_slices_never_mix(slice_dir: Path, adapter_cache: Path) -> None:
    before = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in slice_dir.iterdir()}
    corpora.materialize("musl", 1, 200, slice_dir, cache_dir=adapter_cache)
    assert {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in slice_dir.iterdir()} == before
    with pytest.raises(CorpusError, match="not slice 2/200 of musl"):
        corpora.materialize("musl", 2, 200, slice_dir, cache_dir=adapter_cache)


def test_a_foreign_directory_is_refused(tmp_path: Path, adapter_cache: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CorpusError, match="materialize into an empty directory"):
        corpora.materialize("musl", 1, 200, tmp_path, cache_dir=adapter_cache)


def test_inline_asm_syscalls_build_like_the_compiler(adapter_cache: Path) -> None:
    """opt 22 writes a `uselistorder` for inline asm that llc cannot read back; the llvm driver drops
    it, and the result is the compiler's own -Oz object."""
    musl = corpora.codebase("musl")
    driver = LLVMDriver(cache_dir=adapter_cache)
    ir = driver.compile_c(musl.root / "src/mq/mq_notify.c", musl.flags, root=musl.root)
    assert driver.reference(ir, "Oz").text_bytes == driver.reference(ir, "cc-Oz").text_bytes > 0


def test_cli_materializes_a_slice(tmp_path: Path, cache_env: Path, capsys: pytest.CaptureFixture) -> None:
    directory = tmp_path / "corpus"
    assert main(["corpus", "materialize", "--source", "musl", "--slice", "1/200", str(directory)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{directory}: ") and "from slice 1/200 of musl (6 of 1030 files" in out
    assert main(["corpus", "materialize", "--source", "musl", "--slice", "0/200", str(directory)]) == 2
    assert main(["corpus", "materialize", "--source", "wasi-libc", "--slice", "1/4", str(tmp_path / "w")]) == 1
    err = capsys.readouterr().err
    assert "I must be between 1 and N" in err and "source 'wasi-libc' is not supported" in err
