"""The LLVM pass catalogue: the `--print-passes` parser (pure) and the real `opt` from the wheel."""

from __future__ import annotations

import stat
from collections import Counter
from pathlib import Path

import pytest

from adapters.toolchains import ToolchainUnavailable
from adapters.toolchains import llvm as llvm_toolchain
from adapters.toolchains.llvm import (
    ALL,
    ALLOWED_PASSES,
    BIN_DIR_ENV,
    CURATED_DESCRIPTIONS,
    PassInfo,
    is_allowed,
    llvm_bin_dir,
    llvm_version,
    parse_legacy_descriptions,
    parse_print_passes,
    pass_catalogue,
    tool_path,
)

# An excerpt of LLVM 22.1.8's `opt --print-passes`, keeping every kind of section and odd entry.
PRINT_PASSES = """\
Module passes:
  always-inline
  globalopt
  dot-callgraph
  invalidate<all>
  no-op-module
  print
  print-callgraph
  print<inline-advisor>
  trigger-crash-module
  verify
  view-callgraph
Module passes with params:
  alloc-token<mode=<mode>>
  internalize<preserve-gv=GV>
  print<structural-hash><detailed;call-target-ignored>
  default<O0;O1;O2;O3;Os;Oz>
Module analyses:
  callgraph
  verify
Module alias analyses:
  globals-aa
CGSCC passes:
  argpromotion
  no-op-cgscc
CGSCC passes with params:
  inline<only-mandatory>
CGSCC analyses:
  fam-proxy
Function passes:
  adce
  dot-cfg-only
  instcount
  separate-const-offset-from-gep
  verify<loops>
Function passes with params:
  gvn<no-pre;pre;no-load-pre;load-pre>
  lower-allow-check<cutoffs[indices]=N>
  print<stack-lifetime><may;must>
  scalarizer<load-store;no-load-store;min-bits=N;>
  separate-const-offset-from-gep<lower-gep>
Function analyses:
  aa
  domtree
Function alias analyses:
  basic-aa
LoopNest passes:
  loop-flatten
  no-op-loopnest
Loop passes:
  indvars
  print<ddg>
Loop passes with params:
  licm<allowspeculation;no-allowspeculation>
Loop analyses:
  ddg
Machine module passes (WIP):
Machine function passes (WIP):
  machine-cse
Machine function analyses (WIP):
  machine-loops
"""

HELP_HIDDEN = """\
  --dag-dump-verbose                             - Display more information when dumping selection DAG nodes.
  Optimizations available (use "-passes=" for the new pass manager)
      --adce                                     - Aggressive Dead Code Elimination
      --indvars                                  - Induction Variable Simplification
      --x86-fixup-setcc                          - x86-fixup-setcc
  --ddg-pi-blocks                                - Create pi-block nodes.
"""


def _by_name(passes: list[PassInfo]) -> dict[tuple[str, str], PassInfo]:
    return {(info.kind, info.name): info for info in passes}


# --- the parser ---------------------------------------------------------------------------------


def test_parser_keeps_the_allowed_passes_of_every_kind_sorted():
    passes = parse_print_passes(PRINT_PASSES)
    assert [(info.kind, info.name) for info in passes] == [
        ("cgscc", "argpromotion"),
        ("cgscc", "inline"),
        ("function", "adce"),
        ("function", "gvn"),
        ("function", "separate-const-offset-from-gep"),
        ("loop", "indvars"),
        ("loop", "licm"),
        ("loop", "loop-flatten"),
        ("module", "always-inline"),
        ("module", "default"),
        ("module", "globalopt"),
        ("module", "internalize"),
    ]


def test_parser_with_every_pass_allowed_keeps_every_pass_but_no_analysis_or_machine_pass():
    names = {info.name for info in parse_print_passes(PRINT_PASSES, allowed=ALL)}
    assert {"alloc-token", "lower-allow-check", "scalarizer", "print", "trigger-crash-module", "no-op-module"} <= names
    assert not {"callgraph", "globals-aa", "fam-proxy", "domtree", "ddg", "machine-cse", "machine-loops"} & names


def test_parser_reads_parameters_verbatim():
    passes = _by_name(parse_print_passes(PRINT_PASSES, allowed=ALL))
    assert passes["module", "default"].parameters == "O0;O1;O2;O3;Os;Oz"
    assert passes["module", "alloc-token"].parameters == "mode=<mode>"
    assert passes["module", "internalize"].parameters == "preserve-gv=GV"
    assert passes["cgscc", "inline"].parameters == "only-mandatory"
    assert passes["function", "scalarizer"].parameters == "load-store;no-load-store;min-bits=N;"
    assert passes["loop", "indvars"].parameters is None


def test_parser_prefers_the_parameterised_entry_of_a_duplicate():
    passes = parse_print_passes(PRINT_PASSES)
    gep = [info for info in passes if info.name == "separate-const-offset-from-gep"]
    assert len(gep) == 1
    assert gep[0].parameters == "lower-gep"


def test_parser_keeps_no_analysis_machine_pass_printer_plumbing_or_test_hook_by_default():
    names = {info.name for info in parse_print_passes(PRINT_PASSES)}
    for name in (
        "callgraph",  # module analysis
        "globals-aa",  # alias analysis
        "fam-proxy",
        "domtree",
        "ddg",
        "machine-cse",  # machine pass (llc, not opt)
        "machine-loops",
        "verify",
        "verify<loops>",
        "print",
        "print-callgraph",
        "print<inline-advisor>",
        "print<structural-hash>",
        "print<stack-lifetime>",
        "print<ddg>",
        "dot-callgraph",
        "dot-cfg-only",
        "view-callgraph",
        "instcount",
        "invalidate<all>",
        "no-op-module",
        "no-op-cgscc",
        "no-op-loopnest",
        "trigger-crash-module",
    ):
        assert name not in names, name


def test_loopnest_passes_count_as_loop_passes():
    assert ("loop", "loop-flatten") in _by_name(parse_print_passes(PRINT_PASSES))
    [nest] = parse_print_passes("LoopNest passes:\n  nest-thing\n", allowed=ALL)
    assert (nest.kind, nest.description) == ("loop", "LLVM loop-nest pass `nest-thing`.")


@pytest.mark.parametrize(
    "name, allowed",
    [
        ("print<structural-hash>", False),
        ("view-dom-only", False),
        ("verify", False),
        ("lint", False),
        ("helloworld", False),
        ("trigger-crash-module", False),
        ("insert-gcov-profiling", False),  # instrumentation writes .gcno/.gcda files: refused
        ("pgo-instr-gen", False),
        ("asan", False),
        ("frobnicate", False),
        ("gvn", True),
        ("strip-dead-prototypes", True),
        ("separate-const-offset-from-gep", True),
    ],
)
def test_only_curated_passes_are_allowed(name, allowed):
    assert is_allowed(name) is allowed


def test_the_allow_list_is_the_curated_catalogue():
    assert ALLOWED_PASSES == set(CURATED_DESCRIPTIONS)


def test_parser_ignores_unknown_sections():
    text = "Frobnicator passes:\n  frob\nFunction passes:\n  adce\nFuture widgets (beta):\n  widget\n"
    assert [info.name for info in parse_print_passes(text, allowed=ALL)] == ["adce"]


def test_parser_accepts_a_text_of_only_skipped_sections():
    assert parse_print_passes("Module analyses:\n  callgraph\n") == []


@pytest.mark.parametrize("text", ["", "hello\n  world\n", "Frobnicator passes:\n  frob\n", "  adce\n  gvn\n"])
def test_parser_rejects_text_without_known_sections(text):
    with pytest.raises(ValueError, match="print-passes"):
        parse_print_passes(text)


def test_parser_survives_unbalanced_brackets():
    passes = parse_print_passes("Function passes with params:\n  broken>\n  odd<a;b\n", allowed=ALL)
    assert {info.name for info in passes} == {"broken>", "odd<a;b"}
    assert all(info.parameters is None for info in passes)


def test_pass_kind_is_validated():
    with pytest.raises(ValueError, match="kind"):
        PassInfo("x", "machine", None, "d")


# --- descriptions -------------------------------------------------------------------------------


def test_legacy_descriptions_come_from_the_optimizations_section_only():
    descriptions = parse_legacy_descriptions(HELP_HIDDEN)
    # Options outside the section and descriptions that merely repeat the name are ignored.
    assert descriptions == {
        "adce": "Aggressive Dead Code Elimination",
        "indvars": "Induction Variable Simplification",
    }
    assert parse_legacy_descriptions("no such section\n") == {}


def test_description_priority_curated_then_legacy_then_generated():
    legacy = {"adce": "legacy adce", "argpromotion": "legacy argpromotion", "indvars": "legacy indvars"}
    passes = _by_name(parse_print_passes(PRINT_PASSES, legacy, allowed=ALL))
    assert "adce" in CURATED_DESCRIPTIONS
    assert passes["function", "adce"].description == CURATED_DESCRIPTIONS["adce"]
    assert passes["module", "alloc-token"].description == "LLVM module pass `alloc-token` (parameters: mode=<mode>)."
    passes = _by_name(parse_print_passes("Loop passes:\n  loop-term-fold\n", {"loop-term-fold": "Folds."}, allowed=ALL))
    assert passes["loop", "loop-term-fold"].description == "Folds."


# --- parameter schemas --------------------------------------------------------------------------


def _schema(name: str, parameters: str | None, kind: str = "function") -> dict:
    return PassInfo(name, kind, parameters, "d").parameter_schema()


def test_schema_without_parameters_is_an_empty_object():
    assert _schema("adce", None) == {"type": "object", "properties": {}, "additionalProperties": False}


def test_schema_of_optimisation_levels_is_a_required_enum():
    schema = _schema("default", "O0;O1;O2;O3;Os;Oz", "module")
    assert schema["properties"]["level"]["enum"] == ["O0", "O1", "O2", "O3", "Os", "Oz"]
    assert schema["required"] == ["level"]


def test_schema_of_mixed_levels_and_options_does_not_require_a_level():
    schema = _schema("loop-unroll", "O0;O1;O2;O3;full-unroll-max=N;no-partial;partial")
    assert schema["properties"]["level"]["enum"] == ["O0", "O1", "O2", "O3"]
    assert schema["properties"]["full-unroll-max"] == {"type": "integer"}
    assert schema["properties"]["partial"]["type"] == "boolean"
    assert "no-partial" not in schema["properties"]
    assert "required" not in schema


def test_schema_merges_flag_pairs_and_keeps_lone_flags():
    schema = _schema("gvn", "no-pre;pre;no-memdep;memdep;only-no-form;no-lonely")
    assert set(schema["properties"]) == {"pre", "memdep", "only-no-form", "no-lonely"}
    assert schema["properties"]["pre"]["type"] == "boolean"
    assert schema["properties"]["no-lonely"] == {"type": "boolean"}


def test_schema_value_types():
    schema = _schema("x", "count=N;file=S;preserve-gv=GV;mode=<mode>")
    assert schema["properties"] == {
        "count": {"type": "integer"},
        "file": {"type": "string"},
        "preserve-gv": {"type": "string"},
        "mode": {"type": "string"},
    }


def test_schema_of_indexed_parameters_uses_pattern_properties():
    schema = _schema("lower-allow-check", "cutoffs[indices]=N")
    assert schema["properties"] == {}
    assert schema["patternProperties"] == {r"^cutoffs\[\d+\]$": {"type": "integer"}}


def test_schema_ignores_empty_segments():
    schema = _schema("scalarizer", "load-store;no-load-store;min-bits=N;")
    assert set(schema["properties"]) == {"load-store", "min-bits"}


def test_schema_of_odd_name_syntax():
    text = "Module passes with params:\n  print<structural-hash><detailed;x>\n  ok<a>\n"
    passes = _by_name(parse_print_passes(text, allowed={"ok"}))
    assert ("module", "print<structural-hash>") not in passes  # a printer, though parsed robustly
    assert passes["module", "ok"].parameter_schema()["properties"] == {"a": {"type": "boolean"}}


# --- locating the tools -------------------------------------------------------------------------


def test_tools_are_found_in_the_llvm_wheel(monkeypatch):
    import llvm  # the wheel's package

    monkeypatch.delenv(BIN_DIR_ENV, raising=False)
    assert llvm_bin_dir() == Path(llvm.__file__).parent / "bin"
    for name in ("opt", "llc", "llvm-link", "llvm-size"):
        assert tool_path(name).is_file()


def test_bin_dir_override(tmp_path, monkeypatch):
    fake = tmp_path / "opt"
    fake.write_text("#!/bin/sh\necho 'LLVM (http://llvm.org/):'\necho '  LLVM version 99.1.2git'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(BIN_DIR_ENV, str(tmp_path))
    assert llvm_bin_dir() == tmp_path
    assert llvm_version() == "99.1.2"
    with pytest.raises(ToolchainUnavailable, match="'llc' not found"):
        tool_path("llc")


def test_missing_bin_dir_is_one_actionable_line(monkeypatch, tmp_path):
    monkeypatch.setenv(BIN_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ToolchainUnavailable) as info:
        tool_path("opt")
    assert "\n" not in str(info.value)
    assert BIN_DIR_ENV in str(info.value)


def test_failing_tool_raises_toolchain_unavailable(tmp_path, monkeypatch):
    fake = tmp_path / "opt"
    fake.write_text("#!/bin/sh\necho 'opt: boom' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(BIN_DIR_ENV, str(tmp_path))
    with pytest.raises(ToolchainUnavailable, match=r"exited with 3 \(opt: boom\)"):
        pass_catalogue()


# --- the real catalogue -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue() -> list[PassInfo]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BIN_DIR_ENV, raising=False)  # the wheel's opt, whatever the shell says
        return pass_catalogue()


def test_version_is_the_wheels(monkeypatch):
    monkeypatch.delenv(BIN_DIR_ENV, raising=False)
    assert llvm_version() == "22.1.8"


def test_catalogue_has_the_size_relevant_passes(catalogue):
    passes = _by_name(catalogue)
    for key in [
        ("cgscc", "inline"),
        ("function", "gvn"),
        ("loop", "licm"),
        ("function", "loop-unroll"),
        ("module", "globaldce"),
        ("module", "mergefunc"),
        ("loop", "loop-flatten"),  # a LoopNest pass
    ]:
        assert key in passes, key
    assert "max-iterations=N" in passes["function", "instcombine"].parameters
    assert "Oz" in passes["module", "default"].parameters
    assert passes["module", "default"].parameter_schema()["required"] == ["level"]


def test_catalogue_has_no_analyses_or_printers(catalogue):
    names = {info.name for info in catalogue}
    assert not {"domtree", "scalar-evolution", "basic-aa", "globals-aa", "callgraph", "ddg"} & names
    assert names <= ALLOWED_PASSES
    assert "insert-gcov-profiling" not in names


def test_catalogue_is_sorted_unique_and_described(catalogue):
    keys = [(info.kind, info.name) for info in catalogue]
    assert keys == sorted(set(keys))
    assert all(info.description.strip() for info in catalogue)
    assert Counter(info.kind for info in catalogue).keys() == {"module", "cgscc", "function", "loop"}
    assert len(catalogue) >= len(ALLOWED_PASSES)  # a few passes are listed in two units


def test_every_curated_description_names_a_real_pass(catalogue):
    # Guards against typos, and against passes renamed or removed by a newer LLVM.
    assert set(CURATED_DESCRIPTIONS) <= {info.name for info in catalogue}


def test_the_installed_opt_has_instrumentation_the_catalogue_refuses(catalogue):
    everything = parse_print_passes(llvm_toolchain._run_tool("opt", "--print-passes"), allowed=ALL)
    assert "insert-gcov-profiling" in {info.name for info in everything}
    assert "insert-gcov-profiling" not in {info.name for info in catalogue}


def test_every_schema_is_an_object_schema(catalogue):
    for info in catalogue:
        schema = info.parameter_schema()
        assert schema["type"] == "object"
        assert (schema["properties"] or schema.get("patternProperties")) or not info.parameters, info.name
