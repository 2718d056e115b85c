"""`opm-adapter`: argument handling, the `passes` command, and the installed entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.cli import CATALOGUES, main
from adapters.toolchains.llvm import ALLOWED_PASSES, BIN_DIR_ENV

SERVER_PACKAGES = ("django", "rest_framework", "opm_site", "registry", "governance", "orchestration")


@pytest.fixture(autouse=True)
def _wheel_llvm(monkeypatch):
    monkeypatch.delenv(BIN_DIR_ENV, raising=False)


def test_passes_prints_the_llvm_catalogue(capsys):
    assert main(["passes", "--toolchain", "llvm"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert err == ""
    assert (document["toolchain"], document["version"]) == ("llvm", "22.1.8")
    passes = {(entry["kind"], entry["name"]): entry for entry in document["passes"]}
    gvn = passes["function", "gvn"]
    assert set(gvn) == {"name", "kind", "parameters", "parameter_schema", "description"}
    assert gvn["parameter_schema"]["properties"]["pre"]["type"] == "boolean"
    assert passes["module", "default"]["parameter_schema"]["required"] == ["level"]
    assert {name for _, name in passes} == ALLOWED_PASSES  # the curated allow-list, nothing else


def test_unknown_toolchain_is_a_one_line_usage_error(capsys):
    assert main(["passes", "--toolchain", "msvc"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"opm-adapter: error: unknown toolchain 'msvc' (known: {', '.join(sorted(CATALOGUES))})\n"
    assert {"gcc", "llvm", "synthetic"} <= set(CATALOGUES)


def test_missing_toolchain_tools_fail_with_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv(BIN_DIR_ENV, str(tmp_path))
    assert main(["passes", "--toolchain", "llvm"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("opm-adapter: error: LLVM tool 'opt' not found")
    assert err.count("\n") == 1


@pytest.mark.parametrize("argv", [["--help"], ["passes", "--help"]])
def test_every_command_has_help(argv, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: opm-adapter")
    assert "show this help message" in out


@pytest.mark.parametrize("argv", [[], ["passes"], ["frobnicate"]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def _entry_point() -> list[str]:
    script = Path(sys.executable).with_name("opm-adapter")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "adapters.cli"]


def test_installed_entry_point_runs():
    done = subprocess.run(
        [*_entry_point(), "passes", "--toolchain", "llvm"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["toolchain"] == "llvm"
    assert {"inline", "gvn", "licm"} <= {entry["name"] for entry in document["passes"]}


def test_adapters_import_nothing_from_the_server():
    # A fresh interpreter, so modules imported by other tests cannot hide a stray import.
    code = (
        "import sys, adapters.cli, adapters.toolchains.llvm; "
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {SERVER_PACKAGES!r}); "
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
