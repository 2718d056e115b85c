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
    manifest = json.loads((slice_dir / corpora.manifest_name("musl")).read_text())
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
    with pytest.raises(CorpusError, match="holds slice 1/200 of musl, not slice 2/200"):
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
    assert main(["corpus", "materialize", "--source", "musl", "--room-modules", "0", str(directory)]) == 2
    assert main(["corpus", "materialize", "--source", "wasi-libc", "--slice", "1/4", str(tmp_path / "w")]) == 1
    err = capsys.readouterr().err
    assert "I must be between 1 and N" in err and "source 'wasi-libc' is not supported" in err


# --- projects from source distributions ---------------------------------------------------------------

SDIST_FILES = {
    "toy-1.0/lib/add.c": '#include "toy.h"\nint toy_add(int a, int b) { return a + b + TOY_BIAS; }\n',
    "toy-1.0/lib/loop.c": "int toy_sum(const int *v, int n) { int s = 0; while (n--) s += *v++; return s; }\n",
    "toy-1.0/lib/table.c": "const int toy_table[3] = {1, 2, 3};\n",
    "toy-1.0/lib/broken.c": "int toy_broken(int a) { return a +\n",
    "toy-1.0/lib/main.c": "int main(void) { return 0; }\n",
    "toy-1.0/include/toy.h": "#define TOY_BIAS 7\n",
}


def _sdist() -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in SDIST_FILES.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def toy_index(monkeypatch: pytest.MonkeyPatch):
    """A package index on localhost serving one sdist through the simple JSON API, and the project pinned to it."""
    import http.server
    import threading

    archive = _sdist()

    class Index(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            if self.path == "/simple/toy/":
                url = f"http://127.0.0.1:{self.server.server_port}/files/toy-1.0.tar.gz"
                body = json.dumps({"files": [{"filename": "toy-1.0.tar.gz", "url": url}]}).encode()
            elif self.path == "/files/toy-1.0.tar.gz":
                body = archive
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(corpora.INDEX_ENV, f"http://127.0.0.1:{server.server_port}/simple")
    project = corpora.Project(
        name="toy",
        package="toy",
        version="1.0",
        sha256=hashlib.sha256(archive).hexdigest(),
        root="lib",
        include=("*.c",),
        flags=("-I../include",),
        licence="MIT",
        exclude=("main.c",),
    )
    monkeypatch.setitem(corpora.PROJECTS, "toy", project)
    yield project
    server.shutdown()


def test_a_project_is_fetched_checked_and_sliced_beside_others(toy_index, tmp_path: Path, adapter_cache: Path) -> None:
    corpus = tmp_path / "corpus"
    cache = tmp_path / "cache"
    manifest = corpora.materialize("toy", 1, 1, corpus, cache_dir=cache)
    assert manifest["counts"]["compiled"] == 2 and manifest["counts"]["source_files"] == 4  # main.c left out
    reasons = {entry["source"]: entry["reason"] for entry in manifest["skipped"]}
    assert reasons["table.c"] == corpora.NO_FUNCTIONS and reasons["broken.c"].startswith("does not compile")
    assert sorted(path.name for path in corpus.glob("*.ll")) == ["toy.add.ll", "toy.loop.ll"]
    assert "toy 1.0 sdist (MIT)" in manifest["origin"]
    # Another source shares the directory: each keeps its own manifest, and a rerun changes nothing.
    corpora.materialize("musl", 1, 400, corpus, cache_dir=adapter_cache)
    assert {path.name for path in corpus.glob("MANIFEST.*.json")} == {"MANIFEST.toy.json", "MANIFEST.musl.json"}
    corpora.materialize("toy", 1, 1, corpus, cache_dir=cache)
    (corpus / "notes.txt").write_text("mine")
    with pytest.raises(CorpusError, match="materialize into an empty directory"):
        corpora.materialize("toy", 1, 1, corpus, cache_dir=cache)


def test_an_sdist_with_another_hash_is_refused(toy_index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    monkeypatch.setitem(corpora.PROJECTS, "toy", dataclasses.replace(toy_index, sha256="0" * 64))
    with pytest.raises(CorpusError, match="is not the pinned 0000"):
        corpora.materialize("toy", 1, 1, tmp_path / "corpus", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "v1" / "sources" / "toy-1.0").exists()


def test_every_project_is_pinned_and_named_uniquely() -> None:
    for project in corpora.PROJECTS.values():
        assert len(project.sha256) == 64 and project.archive.endswith(f"-{project.version}.tar.gz")
    assert len(set(corpora.SOURCES)) == len(corpora.SOURCES)
    assert corpora.module_name("enc/encode.c", "brotli") == "brotli.enc.encode.ll"
