"""Tests for adapters.privacy: clipping under adversarial input, the noise actually drawn, rho accounting and the
local spend record (atomic, idempotent, safe across processes)."""

from __future__ import annotations

import ast
import json
import math
import multiprocessing
import os
import statistics
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters import privacy
from adapters.contract import SIGNAL_SCHEMA, schema_errors
from adapters.privacy import (
    MARGINAL_LOG_GAIN,
    SIGNAL_KEYS,
    LocalBudgetExceeded,
    PrivacyError,
    Release,
    SpendRecord,
    clipped_gain,
    release,
    rho,
    rho_nano,
)

clips = st.floats(min_value=1e-6, max_value=1.0, allow_nan=False)


# --- clipped_gain ---------------------------------------------------------------------------------------------


@given(reference=st.integers(min_value=1, max_value=10**30), plan=st.integers(min_value=0, max_value=10**30), c=clips)
def test_clipped_gain_stays_within_bounds_for_any_sizes(reference: int, plan: int, c: float) -> None:
    assert -c <= clipped_gain(reference, plan, c) <= c


@given(reference=st.integers(min_value=1, max_value=10**6), plan=st.integers(min_value=0, max_value=10**6))
def test_clipped_gain_is_the_relative_saving_when_unclipped(reference: int, plan: int) -> None:
    exact = (reference - plan) / reference
    assert clipped_gain(reference, plan, 1.0) == pytest.approx(max(-1.0, min(1.0, exact)), rel=1e-12, abs=1e-15)


def test_clipped_gain_examples() -> None:
    assert clipped_gain(1000, 950, 0.1) == pytest.approx(0.05)
    assert clipped_gain(1000, 500, 0.1) == 0.1
    assert clipped_gain(1000, 5000, 0.1) == -0.1
    assert clipped_gain(1, 10**400, 0.2) == -0.2  # would overflow a float division
    assert clipped_gain(10**400, 0, 0.2) == 0.2


def test_failed_program_counts_minus_c() -> None:
    assert clipped_gain(1000, None, 0.1) == -0.1
    assert clipped_gain(1000, None, 1) == -1.0


@pytest.mark.parametrize(
    ("reference", "plan", "clip", "message"),
    [
        (1000, 900, math.nan, "clip bound must be finite"),
        (1000, 900, math.inf, "clip bound must be finite"),
        (1000, 900, -math.inf, "clip bound must be finite"),
        (1000, 900, 0.0, r"clip bound must be in \(0, 1\]"),
        (1000, 900, -0.1, r"clip bound must be in \(0, 1\]"),
        (1000, 900, 1.5, r"clip bound must be in \(0, 1\]"),
        (1000, 900, True, "clip bound must be a real number"),
        (1000, 900, "0.1", "clip bound must be a real number"),
        (0, 900, 0.1, "reference size must be at least 1"),
        (-5, 900, 0.1, "reference size must be at least 1"),
        (1000, -1, 0.1, "plan size must be at least 0"),
        (1000.0, 900, 0.1, "reference size must be an integer"),
        (math.nan, 900, 0.1, "reference size must be an integer"),
        (1000, math.inf, 0.1, "plan size must be an integer"),
        (1000, 900.5, 0.1, "plan size must be an integer"),
        (True, 900, 0.1, "reference size must be an integer"),
        (1000, False, 0.1, "plan size must be an integer"),
    ],
)
def test_clipped_gain_rejects_adversarial_input(reference: object, plan: object, clip: object, message: str) -> None:
    with pytest.raises(PrivacyError, match=message):
        clipped_gain(reference, plan, clip)  # type: ignore[arg-type]


def test_privacy_error_is_a_value_error() -> None:
    assert issubclass(PrivacyError, ValueError)
    assert issubclass(LocalBudgetExceeded, PrivacyError)


# --- accounting -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("m", "expected_rho", "expected_nano"), [(1, 0.5, 500_000_000), (5, 0.02, 20_000_000)])
def test_rho_and_rho_nano(m: float, expected_rho: float, expected_nano: int) -> None:
    assert rho(m) == pytest.approx(expected_rho, rel=1e-15)
    assert rho_nano(m) == expected_nano


def test_rho_nano_rounds_up() -> None:
    assert rho_nano(3) == 55_555_556  # 1e9 / 18 = 55_555_555.5...
    assert rho_nano(3) >= rho(3) * 1e9


@pytest.mark.parametrize("m", [0, -1, math.nan, math.inf, True, "1"])
def test_rho_rejects_bad_noise_multiplier(m: object) -> None:
    with pytest.raises(PrivacyError, match="noise multiplier"):
        rho_nano(m)  # type: ignore[arg-type]


# --- release --------------------------------------------------------------------------------------------------


def test_release_parameters_and_signal_body() -> None:
    result = release([0.05, -0.1, 0.1, 0.0], clip=0.1, noise_multiplier=5)
    assert isinstance(result, Release)
    assert result.n == 4 and result.mechanism == "gaussian" and math.isfinite(result.value)
    assert dict(result.parameters) == pytest.approx(
        {"noise_multiplier": 5.0, "clip_bound": 0.1, "std": 0.25, "sensitivity": 0.05}
    )
    assert result.rho == pytest.approx(0.02) and result.rho_nano == 20_000_000
    body = result.to_signal_body(task=17, round=3, problem="corpus", phase="selection", plan="cd" * 32, base=None)
    assert set(body) == SIGNAL_KEYS == {
        "task", "round", "problem", "phase", "plan", "base", "statistic", "n", "mechanism", "parameters", "value"
    }  # fmt: skip
    assert set(body["parameters"]) == {"noise_multiplier", "clip_bound", "std", "sensitivity"}
    assert body["task"] == 17 and body["value"] == result.value and body["n"] == 4
    assert (body["round"], body["problem"], body["phase"], body["plan"]) == (3, "corpus", "selection", "cd" * 32)
    assert body["statistic"] == "clipped_gain" and body["base"] is None
    assert schema_errors(SIGNAL_SCHEMA, body) == []
    json.dumps(body, allow_nan=False)  # serialisable, no NaN/inf
    with pytest.raises(PrivacyError, match="base portfolio"):  # a clipped gain is never against a portfolio
        result.to_signal_body(task=17, round=3, problem="corpus", phase="selection", plan="cd" * 32, base="ab" * 32)


def test_a_marginal_release_has_half_the_sensitivity_and_names_its_base() -> None:
    result = release([0.05, 0.0, 0.1, 0.02], clip=0.1, noise_multiplier=5, statistic=MARGINAL_LOG_GAIN)
    assert dict(result.parameters) == pytest.approx(
        {"noise_multiplier": 5.0, "clip_bound": 0.1, "std": 0.125, "sensitivity": 0.025}
    )
    assert result.rho_nano == rho_nano(5)  # the same accounting: std is m times the sensitivity
    body = result.to_signal_body(task=9, round=None, problem="p", phase="", plan="cd" * 32, base="ab" * 32)
    assert set(body) == SIGNAL_KEYS and body["statistic"] == MARGINAL_LOG_GAIN and body["base"] == "ab" * 32
    assert schema_errors(SIGNAL_SCHEMA, body) == []
    assert schema_errors(SIGNAL_SCHEMA, {**body, "base": None})  # a marginal gain names its portfolio
    with pytest.raises(PrivacyError, match="base portfolio"):
        result.to_signal_body(task=9, round=None, problem="p", phase="", plan="cd" * 32, base=None)
    with pytest.raises(PrivacyError, match=r"outside \[0.0, 0.1\]"):
        release([-0.01], clip=0.1, noise_multiplier=5, statistic=MARGINAL_LOG_GAIN)
    with pytest.raises(PrivacyError, match="unknown statistic"):
        release([0.0], clip=0.1, noise_multiplier=5, statistic="median")


@given(
    gains=st.lists(st.floats(min_value=0.0, max_value=0.3, allow_nan=False), min_size=1, max_size=50),
    m=st.floats(min_value=0.1, max_value=100, allow_nan=False),
)
def test_marginal_releases_take_any_gain_in_zero_to_c(gains: list[float], m: float) -> None:
    result = release(gains, clip=0.3, noise_multiplier=m, statistic=MARGINAL_LOG_GAIN)
    assert math.isfinite(result.value) and result.parameters["std"] == pytest.approx(m * 0.3 / len(gains))


def test_release_is_immutable() -> None:
    result = release([0.0], clip=0.1, noise_multiplier=1)
    with pytest.raises(AttributeError):
        result.value = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.parameters["std"] = 0.0  # type: ignore[index]
    body = result.to_signal_body(task=1, round=None, problem="p", phase="", plan="cd" * 32, base=None)
    body["parameters"]["std"] = 0.0
    assert result.parameters["std"] == pytest.approx(0.2)


@given(
    gains=st.lists(st.floats(min_value=-0.3, max_value=0.3, allow_nan=False), min_size=1, max_size=50),
    m=st.floats(min_value=0.1, max_value=100, allow_nan=False),
)
def test_release_accepts_any_clipped_gains(gains: list[float], m: float) -> None:
    result = release(gains, clip=0.3, noise_multiplier=m)
    assert math.isfinite(result.value) and result.n == len(gains)
    assert result.parameters["std"] == pytest.approx(m * 0.6 / len(gains))


@pytest.mark.parametrize(
    ("gains", "clip", "m", "message"),
    [
        ([], 0.1, 1.0, "at least one program"),
        ([0.0, math.nan], 0.1, 1.0, "gain #1 must be finite"),
        ([math.inf], 0.1, 1.0, "gain #0 must be finite"),
        ([0.2], 0.1, 1.0, "outside"),
        ([-0.10000001], 0.1, 1.0, "outside"),
        ([True], 0.1, 1.0, "must be a real number"),
        (["0.1"], 0.1, 1.0, "must be a real number"),
        ("0.1", 0.1, 1.0, "sequence"),
        ([0.0], 0.1, 0.0, "noise multiplier"),
        ([0.0], 0.1, -1.0, "noise multiplier"),
        ([0.0], 0.1, math.nan, "noise multiplier"),
        ([0.0], 0.1, math.inf, "noise multiplier"),
        ([0.0], math.nan, 1.0, "clip bound"),
        ([0.0], 2.0, 1.0, "clip bound"),
    ],
)
def test_release_rejects_bad_input(gains: object, clip: float, m: float, message: str) -> None:
    with pytest.raises(PrivacyError, match=message):
        release(gains, clip=clip, noise_multiplier=m)  # type: ignore[arg-type]


def test_noise_has_the_promised_distribution() -> None:
    """4,000 releases of a fixed mean: std m * 2c / n within 10% and an unbiased mean.

    The sample std's relative standard error is 1 / sqrt(2 (N - 1)) ~ 1.1%, so 10% is a ~9-sigma band; the mean
    band is 6 standard errors, the one-sigma coverage band (Gaussian 68.3%, Laplace 75.7%) about 5.4.
    """
    samples, n, c, m = 4000, 10, 0.1, 2.0
    gains = [0.1, 0.05, -0.02, 0.0, 0.03, 0.1, -0.1, 0.04, 0.01, 0.09]
    true_mean = math.fsum(gains) / n
    expected_std = m * 2 * c / n
    values = [release(gains, clip=c, noise_multiplier=m).value for _ in range(samples)]
    assert abs(statistics.stdev(values) / expected_std - 1) < 0.10
    assert abs(statistics.fmean(values) - true_mean) < 6 * expected_std / math.sqrt(samples)
    within_one_sigma = sum(abs(v - true_mean) <= expected_std for v in values) / samples
    assert abs(within_one_sigma - 0.6827) < 0.04
    assert len(set(values)) == samples  # continuous noise, fresh every time


def test_privacy_module_draws_no_noise_from_numpy_or_random_and_has_no_django() -> None:
    tree = ast.parse(Path(privacy.__file__).read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "opendp" in imported
    assert not imported & {"numpy", "random", "secrets", "django", "registry", "governance", "orchestration"}


# --- SpendRecord ----------------------------------------------------------------------------------------------


def test_spend_record_refuses_over_its_own_limit(tmp_path: Path) -> None:
    record = SpendRecord.load(tmp_path / "spend.json", limit_rho_nano=rho_nano(5) * 2 + 1)
    record.charge("t1", rho_nano(5))
    record.charge("t2", rho_nano(5))
    assert record.spent_rho_nano == 40_000_000 and record.remaining_rho_nano == 1
    with pytest.raises(LocalBudgetExceeded, match="refusing it even though the server leased it"):
        record.charge("t3", rho_nano(5))
    assert record.spent_rho_nano == 40_000_000
    assert [charge.task for charge in SpendRecord.load(record.path, 0).charges] == ["t1", "t2"]


def test_spend_record_allows_charging_exactly_to_the_limit(tmp_path: Path) -> None:
    record = SpendRecord.load(tmp_path / "spend.json", limit_rho_nano=500_000_000)
    record.charge(1, rho_nano(1))
    assert record.remaining_rho_nano == 0
    with pytest.raises(LocalBudgetExceeded):
        record.charge(2, 1)


def test_spend_record_is_idempotent_per_task(tmp_path: Path) -> None:
    record = SpendRecord.load(tmp_path / "spend.json", limit_rho_nano=10**9)
    first = record.charge(42, 300)
    again = record.charge("42", 300)
    assert again == first and record.spent_rho_nano == 300 and len(record.charges) == 1
    with pytest.raises(PrivacyError, match="already charged 300"):
        record.charge(42, 301)


def test_spend_record_survives_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "spend.json"
    record = SpendRecord.load(path, limit_rho_nano=1000)
    record.charge("a", 100)
    record.charge("b", 250)
    reloaded = SpendRecord.load(path, limit_rho_nano=1000)
    assert reloaded.spent_rho_nano == 350 and reloaded.remaining_rho_nano == 650
    assert reloaded.charges == record.charges
    document = json.loads(path.read_text())
    assert document["limit_rho_nano"] == 1000
    assert [(c["task"], c["rho_nano"]) for c in document["charges"]] == [("a", 100), ("b", 250)]
    assert all(c["charged_at"].endswith("+00:00") for c in document["charges"])


def test_spend_record_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "spend.json"
    record = SpendRecord.load(path, limit_rho_nano=1000)
    record.charge("a", 100)
    before = path.read_bytes()

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(privacy.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        record.charge("b", 100)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spend.json", "spend.json.lock"]  # no temp file left
    assert SpendRecord.load(path, 1000).spent_rho_nano == 100
    assert record.spent_rho_nano == 100


def test_spend_record_refuses_a_corrupt_file_rather_than_resetting(tmp_path: Path) -> None:
    path = tmp_path / "spend.json"
    path.write_text('{"version": 1, "charges": [')
    with pytest.raises(PrivacyError, match="unreadable"):
        SpendRecord.load(path, 1000)


@pytest.mark.parametrize(("limit", "cost"), [(-1, 1), (1.5, 1), (True, 1), (10, 0), (10, -3), (10, 2.0), (10, False)])
def test_spend_record_rejects_bad_amounts(tmp_path: Path, limit: object, cost: object) -> None:
    with pytest.raises(PrivacyError, match="nano-rho"):
        SpendRecord.load(tmp_path / "spend.json", limit).charge("t", cost)  # type: ignore[arg-type]


def _charge_many(path: str, limit: int, prefix: str, count: int, start: Any, results: Any) -> None:
    """Worker: charge `count` distinct tasks of 1 nano-rho each once both workers are ready; report the accepted."""
    record = SpendRecord.load(path, limit)
    start.wait(timeout=60)
    accepted = 0
    for index in range(count):
        try:
            record.charge(f"{prefix}-{index}", 1)
            accepted += 1
        except LocalBudgetExceeded:
            pass
    results.put(accepted)


def _run_two_processes(path: Path, limit: int, count: int) -> list[int]:
    """Two spawned processes (no inherited state) charging the same record at the same time."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_charge_many, args=(str(path), limit, prefix, count, start, results)) for prefix in "ab"
    ]
    for worker in workers:
        worker.start()
    start.set()
    accepted = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    return accepted


@pytest.mark.parametrize(("limit", "expected_total"), [(1000, 100), (60, 60)])
def test_concurrent_processes_lose_no_charge_and_never_overspend(
    tmp_path: Path, limit: int, expected_total: int
) -> None:
    path = tmp_path / "spend.json"
    accepted = _run_two_processes(path, limit, count=50)
    record = SpendRecord.load(path, limit)
    assert sum(accepted) == expected_total
    assert record.spent_rho_nano == expected_total == len(record.charges)
    assert len({charge.task for charge in record.charges}) == expected_total
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
