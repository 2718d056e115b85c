"""adapters.plan: parsing, strict validation, canonical hashing and opt pipeline rendering."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from adapters import sandbox
from adapters.plan import PassStep, Plan, PlanError, load, reference_plan
from adapters.toolchains.llvm import PassInfo, tool_path

DATA = Path(__file__).parent / "data"


def plan(*passes: dict, knobs: dict | None = None) -> Plan:
    document = {"toolchain": "llvm", "passes": list(passes)}
    if knobs is not None:
        document["knobs"] = knobs
    return Plan.from_json(document)


def test_round_trip_and_canonical_form() -> None:
    document = {
        "toolchain": "llvm",
        "passes": [{"name": "gvn", "params": {"pre": False}}, {"name": "dce"}],
        "knobs": {"opt": {"inline-threshold": 50}, "llc": {}},
    }
    parsed = Plan.from_json(document)
    assert parsed.passes == (PassStep("gvn", {"pre": False}), PassStep("dce", {}))
    assert parsed.to_json() == {
        "toolchain": "llvm",
        "passes": [{"name": "gvn", "params": {"pre": False}}, {"name": "dce", "params": {}}],
        "knobs": {"opt": {"inline-threshold": 50}},
    }
    assert Plan.from_json(parsed.to_json()) == parsed


def test_content_hash_is_sha256_of_rfc8785_json_and_ignores_key_order() -> None:
    first = Plan.from_json(
        {
            "knobs": {"llc": {"enable-ipra": True}},
            "passes": [{"params": {"level": "Oz"}, "name": "default"}],
            "toolchain": "llvm",
        }
    )
    second = Plan.from_json(
        {
            "toolchain": "llvm",
            "passes": [{"name": "default", "params": {"level": "Oz"}}],
            "knobs": {"opt": {}, "llc": {"enable-ipra": True}},
        }
    )
    expected = hashlib.sha256(rfc8785.dumps(first.to_json())).hexdigest()
    assert first.content_hash() == second.content_hash() == expected
    assert hash(first) == hash(second)
    assert reference_plan("llvm").content_hash() != first.content_hash()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "plan: expected an object, got an array"),
        ({"passes": []}, "toolchain: missing"),
        ({"toolchain": "llvm"}, "passes: missing"),
        ({"toolchain": "llvm", "passes": [], "extra": 1}, "extra: unknown key (allowed: knobs, passes, toolchain)"),
        ({"toolchain": 3, "passes": []}, "toolchain: expected a string, got a number"),
        ({"toolchain": "msvc", "passes": []}, "toolchain: unknown toolchain 'msvc' (known: "),
        ({"toolchain": "llvm", "passes": {}}, "passes: expected an array, got an object"),
        ({"toolchain": "llvm", "passes": ["gvn"]}, "passes[0]: expected an object, got a string"),
        ({"toolchain": "llvm", "passes": [{"params": {}}]}, "passes[0].name: missing"),
        ({"toolchain": "llvm", "passes": [{"name": 7}]}, "passes[0].name: expected a string, got a number"),
        (
            {"toolchain": "llvm", "passes": [{"name": "dce", "args": {}}]},
            "passes[0].args: unknown key (allowed: name, params)",
        ),
        (
            {"toolchain": "llvm", "passes": [{"name": "dce"}, {"name": "gvn,trigger-crash-module"}]},
            "passes[1].name: 'gvn,trigger-crash-module' is not a pass name (lowercase letters, digits, '-', '.', '_')",
        ),
        ({"toolchain": "llvm", "passes": [{"name": "gvn", "params": []}]}, "passes[0].params: expected an object"),
        (
            {"toolchain": "llvm", "passes": [{"name": "gvn", "params": {"x": 1.5}}]},
            "passes[0].params.x: expected a boolean, integer or string, got a number",
        ),
        (
            {"toolchain": "llvm", "passes": [{"name": "internalize", "params": {"preserve-gv": "main>,verify<"}}]},
            "passes[0].params.preserve-gv: 'main>,verify<' contains characters not allowed in a parameter value",
        ),
        (
            {"toolchain": "llvm", "passes": [{"name": "memprof-use", "params": {"profile-filename": "/etc/passwd"}}]},
            "passes[0].params.profile-filename: '/etc/passwd' contains characters not allowed in a parameter value",
        ),
        (
            {"toolchain": "llvm", "passes": [{"name": "instcombine", "params": {"max-iterations": -1}}]},
            "passes[0].params.max-iterations: -1 is outside the allowed range [0, 2147483647]",
        ),
        ({"toolchain": "llvm", "passes": [], "knobs": []}, "knobs: expected an object, got an array"),
        ({"toolchain": "llvm", "passes": [], "knobs": {"gcc": {}}}, "knobs.gcc: unknown knob group (known: llc, opt)"),
        (
            {"toolchain": "llvm", "passes": [], "knobs": {"opt": {"inline-threshold": -5}}},
            "knobs.opt.inline-threshold: -5 is outside the allowed range [0, 100000]",
        ),
        (
            {"toolchain": "llvm", "passes": [], "knobs": {"opt": {"inline-threshold": True}}},
            "knobs.opt.inline-threshold: expected an integer, got a boolean",
        ),
        (
            {"toolchain": "llvm", "passes": [], "knobs": {"llc": {"enable-ipra": 1}}},
            "knobs.llc.enable-ipra: expected a boolean, got a number",
        ),
    ],
)
def test_invalid_documents_fail_with_one_line_naming_the_field(document, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        Plan.from_json(document)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_knobs_outside_the_allow_list_are_rejected() -> None:
    with pytest.raises(PlanError, match=r"^knobs\.llc\.relocation-model: not an allowed llc option \(allowed: "):
        plan(knobs={"llc": {"relocation-model": "pic"}})


def test_knobs_render_as_tool_flags() -> None:
    knobbed = plan(
        knobs={
            "opt": {"inline-threshold": 50},
            "llc": {"enable-machine-outliner": True, "enable-ipra": False, "tail-dup-size": 0},
        }
    )
    assert knobbed.tool_flags("opt") == ["-inline-threshold=50"]
    assert knobbed.tool_flags("llc") == ["-enable-ipra=false", "-enable-machine-outliner=always", "-tail-dup-size=0"]
    assert plan(knobs={"llc": {"enable-machine-outliner": False}}).tool_flags("llc") == [
        "-enable-machine-outliner=never"
    ]


@pytest.mark.parametrize(
    ("passes", "pipeline"),
    [
        ([{"name": "default", "params": {"level": "Oz"}}], "default<Oz>"),
        ([{"name": "instcombine"}], "function(instcombine<no-verify-fixpoint>)"),
        (
            [{"name": "instcombine", "params": {"verify-fixpoint": True, "max-iterations": 2}}],
            "function(instcombine<max-iterations=2;verify-fixpoint>)",
        ),
        ([{"name": "gvn", "params": {"pre": False, "load-pre": True}}], "function(gvn<load-pre;no-pre>)"),
        ([{"name": "early-cse", "params": {"memssa": False}}], "function(early-cse)"),
        ([{"name": "loop-rotate"}, {"name": "indvars"}], "function(loop(loop-rotate,indvars))"),
        ([{"name": "loop-rotate"}, {"name": "licm"}], "function(loop-mssa(loop-rotate,licm))"),
        (
            [
                {"name": "sroa", "params": {"modify-cfg": True}},
                {"name": "loop-rotate", "params": {"header-duplication": False}},
                {"name": "licm", "params": {"allowspeculation": True}},
                {"name": "gvn"},
                {"name": "loop-idiom"},
                {"name": "inline"},
                {"name": "function-attrs"},
                {"name": "globaldce"},
                {"name": "simplifycfg", "params": {"bonus-inst-threshold": 2, "hoist-common-insts": True}},
                {"name": "loop-unroll", "params": {"level": "O2", "runtime": False}},
                {"name": "dce"},
            ],
            "function(sroa<modify-cfg>,loop-mssa(loop-rotate<no-header-duplication>,licm<allowspeculation>),"
            "gvn,loop(loop-idiom)),cgscc(inline,function-attrs),globaldce,"
            "function(simplifycfg<bonus-inst-threshold=2;hoist-common-insts>,loop-unroll<O2;no-runtime>,"
            "dce)",
        ),
    ],
)
def test_pipelines_nest_each_pass_in_its_ir_unit(passes: list[dict], pipeline: str) -> None:
    assert plan(*passes).to_pipeline() == pipeline


def test_rendered_pipelines_are_accepted_by_opt() -> None:
    nested = plan(
        {"name": "sroa"},
        {"name": "loop-rotate"},
        {"name": "licm"},
        {"name": "inline"},
        {"name": "globaldce"},
        {"name": "simplifycfg", "params": {"bonus-inst-threshold": 2, "switch-to-lookup": False}},
        {"name": "loop-unroll", "params": {"level": "O2", "runtime": False}},
        {"name": "instcombine"},
    )
    done = sandbox.run([tool_path("opt"), f"-passes={nested.to_pipeline()}", "-disable-output", DATA / "checksum.ll"])
    assert done.ok, done.stderr_text()


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"name": "frobnicate"}, "passes[0].name: llvm pass 'frobnicate' is not allowed"),
        ({"name": "trigger-crash-module"}, "passes[0].name: llvm pass 'trigger-crash-module' is not allowed"),
        ({"name": "insert-gcov-profiling"}, "passes[0].name: llvm pass 'insert-gcov-profiling' is not allowed"),
        ({"name": "gvn", "params": {"frob": True}}, "passes[0].params.frob: not a parameter of this pass (known: "),
        ({"name": "gvn", "params": {"pre": 1}}, "passes[0].params.pre: expected a boolean"),
        ({"name": "instcombine", "params": {"max-iterations": "x"}}, "passes[0].params.max-iterations: expected an"),
        ({"name": "default", "params": {"level": "O7"}}, "passes[0].params.level: 'O7' is not one of O0, O1"),
        ({"name": "default"}, "passes[0].params.level: missing (required by this pass)"),
    ],
)
def test_pipeline_rendering_checks_names_and_params_against_the_catalogue(step: dict, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        plan(step).to_pipeline()
    assert str(caught.value).startswith(message)


def test_an_extended_catalogue_admits_llvm_test_passes() -> None:
    crash = PassInfo("trigger-crash-module", "module", None, "")
    assert plan({"name": "trigger-crash-module"}).to_pipeline([crash]) == "trigger-crash-module"


def test_reference_plan_is_default_oz() -> None:
    assert reference_plan("llvm").to_pipeline() == "default<Oz>"
    assert reference_plan("gcc").to_json() == {"toolchain": "gcc", "passes": [], "knobs": {}}  # plain -Os
    assert reference_plan("synthetic").passes == ()
    with pytest.raises(PlanError, match="no reference plan for 'msvc'"):
        reference_plan("msvc")


def test_load_reads_a_file_and_names_it_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "plan.json"
    good.write_text(json.dumps(reference_plan("llvm").to_json()))
    assert load(good) == reference_plan("llvm")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PlanError, match=rf"^{bad}: not a JSON document: "):
        load(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"toolchain": "llvm", "passes": 1}')
    with pytest.raises(PlanError, match=rf"^{wrong}: passes: expected an array, got a number$"):
        load(wrong)
    with pytest.raises(PlanError, match=rf"^{tmp_path / 'missing.json'}: cannot read: "):
        load(tmp_path / "missing.json")


_names = st.sampled_from(["gvn", "sroa", "licm", "inline", "default", "loop-unroll", "dce"])
_values = st.one_of(st.booleans(), st.integers(0, 1000), st.sampled_from(["O1", "Oz", "main"]))
_steps = st.builds(
    lambda name, params: {"name": name, "params": params},
    _names,
    st.dictionaries(st.sampled_from(["pre", "level", "runtime", "max-iterations"]), _values, max_size=3),
)


@given(st.lists(_steps, max_size=6), st.dictionaries(st.just("inline-threshold"), st.integers(0, 100_000)))
def test_parsing_is_idempotent_and_the_hash_follows_the_content(steps: list[dict], opt_knobs: dict) -> None:
    parsed = plan(*steps, knobs={"opt": opt_knobs})
    again = Plan.from_json(json.loads(json.dumps(parsed.to_json())))
    assert again == parsed and again.content_hash() == parsed.content_hash()
    if steps:
        shorter = Plan.from_json({**parsed.to_json(), "passes": parsed.to_json()["passes"][1:]})
        assert shorter.content_hash() != parsed.content_hash()
