"""The bundled corpus: enough programs across enough domains, each printing its checksum identically at -O0
and at -Oz with both compilers (zig cc, i.e. clang 22, and the system gcc)."""

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from adapters.corpus import programs

ZIG_CC = [sys.executable, "-m", "ziglang", "cc", "-target", "x86_64-linux-musl", "-mcpu=baseline", "-w"]
BUILDS = {
    "zig-O0": [*ZIG_CC, "-O0"],
    "zig-Oz": [*ZIG_CC, "-Oz", "-Xclang", "-Oz", "-fomit-frame-pointer", "-fno-sanitize=undefined", "-g0"],
    "gcc-O0": ["gcc", "-std=c11", "-w", "-O0"],
    "gcc-Oz": ["gcc", "-std=c11", "-w", "-Oz"],
}
PROGRAMS = programs()


def test_corpus_size_and_spread():
    assert len(PROGRAMS) >= 40
    assert len({p.domain for p in PROGRAMS}) >= 8
    for program in PROGRAMS:
        lines = len(program.path.read_text().splitlines())
        assert 50 <= lines <= 500, (program.path.name, lines)
        assert program.expected_output.startswith(program.name + " ")


def _build_and_run(build: str, program, tmp_path) -> str:
    exe = tmp_path / f"{program.subset}-{program.name}-{build}"
    subprocess.run([*BUILDS[build], str(program.path), "-o", str(exe)], check=True, capture_output=True, timeout=120)
    done = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"{program.name} ({build}) exited {done.returncode}"
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no system gcc")
@pytest.mark.parametrize("subset", ["alpha", "beta", "gamma", "delta"])
def test_programs_agree_at_O0_and_Oz_on_both_compilers(subset, tmp_path):
    chosen = [p for p in PROGRAMS if p.subset == subset]
    jobs = [(build, program) for program in chosen for build in BUILDS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = list(pool.map(lambda job: _build_and_run(job[0], job[1], tmp_path), jobs))
    for (build, program), output in zip(jobs, outputs, strict=True):
        assert output == program.expected_output, f"{program.name} built with {build}"
