"""`manage.py passes sync|list` against LLVM 22's real pass registry."""

import pytest
from django.core.management import CommandError, call_command

from adapters.toolchains.llvm import ALLOWED_PASSES
from registry.models import PassSpec
from registry.services import pass_catalogue_sync

from .factories import PassSpecFactory

pytestmark = pytest.mark.django_db


def test_sync_fills_the_real_llvm_catalogue_idempotently(capsys):
    call_command("passes", "sync", "--toolchain", "llvm")
    first = capsys.readouterr().out
    specs = PassSpec.objects.filter(toolchain="llvm")
    assert specs.count() > 100
    assert "new" in first and "llvm 22." in first
    names = set(specs.values_list("name", flat=True))
    assert {"inline", "gvn", "licm", "instcombine", "loop-unroll", "globalopt", "mergefunc", "default"} <= names
    assert not any(name.startswith(("print", "dot-", "view-")) for name in names)
    assert names <= ALLOWED_PASSES and "insert-gcov-profiling" not in names  # the adapter's allow-list
    assert set(specs.values_list("kind", flat=True)) == {"module", "cgscc", "function", "loop"}
    assert not specs.filter(description="").exists()
    default = specs.get(name="default")
    assert "Oz" in default.parameter_syntax and default.kind == "module"
    assert default.parameter_schema["type"] == "object"

    call_command("passes", "sync", "--toolchain", "llvm")
    second = capsys.readouterr().out
    assert "0 new, 0 updated" in second
    assert specs.count() == len(names)


def test_sync_marks_passes_the_toolchain_dropped_unavailable():
    stale = PassSpecFactory(toolchain="synthetic", name="gone", kind="synthetic")

    class Entry:
        name, kind, parameters, description = "kept", "synthetic", None, "A synthetic step."

        def parameter_schema(self) -> dict:
            return {}

    summary = pass_catalogue_sync(toolchain="synthetic", toolchain_version="1", entries=[Entry()])
    assert (summary.created, summary.retired) == (1, 1)
    stale.refresh_from_db()
    assert stale.available is False


def test_sync_rejects_unknown_toolchain_and_kind():
    with pytest.raises(ValueError, match="unknown toolchain"):
        pass_catalogue_sync(toolchain="msvc", toolchain_version="1", entries=[])


@pytest.mark.parametrize(("toolchain", "kind"), [("gcc", "flag"), ("cranelift", "setting"), ("synthetic", "synthetic")])
def test_sync_reads_every_toolchains_own_catalogue(toolchain, kind, capsys):
    call_command("passes", "sync", "--toolchain", toolchain)
    specs = PassSpec.objects.filter(toolchain=toolchain)
    assert specs.count() >= 10 and set(specs.values_list("kind", flat=True)) == {kind}
    assert "new" in capsys.readouterr().out


def test_missing_opt_is_a_one_line_command_error(monkeypatch, tmp_path):
    monkeypatch.setenv("OPM_LLVM_BIN", str(tmp_path))
    with pytest.raises(CommandError) as excinfo:
        call_command("passes", "sync", "--toolchain", "llvm")
    assert "\n" not in str(excinfo.value)


def test_list_prints_the_stored_catalogue(capsys):
    PassSpecFactory(toolchain="llvm", name="gvn", description="Global value numbering.")
    call_command("passes", "list", "--toolchain", "llvm")
    out = capsys.readouterr().out
    assert "gvn" in out and "Global value numbering." in out and "1 passes" in out
    with pytest.raises(CommandError, match="no passes stored for cranelift"):
        call_command("passes", "list", "--toolchain", "cranelift")
