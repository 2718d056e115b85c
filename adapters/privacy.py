"""The participant side of differential privacy (docs/design.md §4): clip, release, and keep our own spend record.

The unit of privacy is one program. A plan's gain over the reference is clipped to [-c, c] per program (a
failure counts as -c); a candidate's marginal gain over a portfolio is a log ratio clipped to [0, c]. The
corpus mean is released with Gaussian noise of standard deviation m times its sensitivity (2c / n and c / n)
drawn by OpenDP (floating-point safe; never numpy or `random`), and every release costs rho = 1 / (2 m^2)
under zCDP. The adapter keeps its own record of what it spent so that a compromised server cannot drain the
budget silently.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import numbers
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import opendp.prelude as dp
from opendp.mod import OpenDPException

NANO = 1_000_000_000
GAUSSIAN = "gaussian"
SIGNAL_KEYS = frozenset(
    {"task", "round", "problem", "phase", "plan", "base", "statistic", "n", "mechanism", "parameters", "value"}
)
"""The signed statement's keys (contract opm-adapter 2.0): every one always present, so all of it is signed."""
PARAMETER_KEYS = frozenset({"noise_multiplier", "clip_bound", "std", "sensitivity"})
CLIPPED_GAIN = "clipped_gain"
"""A plan against the reference: r_p = clip((ref - plan) / ref, -c, c), range width 2c."""
MARGINAL_LOG_GAIN = "marginal_log_gain"
"""A candidate against a portfolio: g_p = clip(log size_S - log size_{S+q}, 0, c), range width c."""
RANGE_WIDTH = {CLIPPED_GAIN: 2, MARGINAL_LOG_GAIN: 1}
"""Each statistic's range in units of the clip bound c: the sensitivity of the mean is width * c / n."""


def statistic_for(base: object | None) -> str:
    """The statistic a task asks for: a plan's clipped gain over the reference, or, when the task names a
    base portfolio, the candidate's marginal gain over it."""
    return CLIPPED_GAIN if base is None else MARGINAL_LOG_GAIN


RECORD_VERSION = 1
# OpenDP's privacy map rounds conservatively, so it may exceed 1 / (2 m^2) by a few ulps; anything more means
# the mechanism we built is not the one we charged for.
_CERTIFIED_RHO_SLACK = 1e-12


class PrivacyError(ValueError):
    """Input or state that would make a release or a charge unsound; the message says which and why."""


class LocalBudgetExceeded(PrivacyError):
    """The participant's own limit refuses a charge, whatever the server leased."""


# --- Clipping -------------------------------------------------------------------------------------------------


def _check_clip(clip: float) -> float:
    if isinstance(clip, bool) or not isinstance(clip, numbers.Real):
        raise PrivacyError(f"clip bound must be a real number, got {type(clip).__name__} {clip!r}")
    value = float(clip)
    if not math.isfinite(value):
        raise PrivacyError(f"clip bound must be finite, got {clip!r}")
    if not 0 < value <= 1:
        raise PrivacyError(f"clip bound must be in (0, 1], got {clip!r}")
    return value


def _check_size(name: str, size: object, *, minimum: int) -> int:
    if isinstance(size, bool) or not isinstance(size, numbers.Integral):
        raise PrivacyError(f"{name} must be an integer number of bytes, got {type(size).__name__} {size!r}")
    value = int(size)
    if value < minimum:
        raise PrivacyError(f"{name} must be at least {minimum}, got {value}")
    return value


def clipped_gain(reference_size: int, plan_size: int | None, clip: float) -> float:
    """r_p = clip((ref - plan) / ref, -c, c), with a failed program (None) at -c so failure is covered by noise.

    The ratio is computed exactly (rationals), so huge or adversarial sizes can neither overflow nor round
    outside [-c, c].
    """
    bound = _check_clip(clip)
    reference = _check_size("reference size", reference_size, minimum=1)
    if plan_size is None:
        return -bound
    plan = _check_size("plan size", plan_size, minimum=0)
    exact_bound = Fraction(bound)
    gain = Fraction(reference - plan, reference)
    return float(max(-exact_bound, min(exact_bound, gain)))


def marginal_gain(base_size: int | None, with_candidate_size: int | None, clip: float) -> float:
    """g_p = clip(log size_S - log size_{S+q}, 0, c) for one module: what adding candidate q to portfolio S
    saves there, as a log ratio. `base_size` is the smallest verified size among S's members and the
    reference; `with_candidate_size` the same with q (None or 0 when nothing verified or there is no code:
    gain 0). Never negative: S + q keeps S's object when q's is not smaller."""
    bound = _check_clip(clip)
    if base_size is None or with_candidate_size is None:
        return 0.0
    base = _check_size("base size", base_size, minimum=0)
    candidate = _check_size("size with the candidate", with_candidate_size, minimum=0)
    if base == 0 or candidate == 0 or candidate >= base:
        return 0.0
    return min(bound, math.log(base) - math.log(candidate))


# --- Accounting -----------------------------------------------------------------------------------------------


def _check_noise_multiplier(noise_multiplier: float) -> float:
    if isinstance(noise_multiplier, bool) or not isinstance(noise_multiplier, numbers.Real):
        raise PrivacyError(f"noise multiplier must be a real number, got {noise_multiplier!r}")
    value = float(noise_multiplier)
    if not (math.isfinite(value) and value > 0):
        raise PrivacyError(f"noise multiplier must be a finite number > 0, got {noise_multiplier!r}")
    return value


def rho(noise_multiplier: float) -> float:
    """zCDP cost of one Gaussian release whose std is m times its sensitivity."""
    m = _check_noise_multiplier(noise_multiplier)
    return 1.0 / (2.0 * m**2)


def rho_nano(noise_multiplier: float) -> int:
    """The integer charge of one release in nano-rho, rounded up exactly as the server rounds it.

    The server (orchestration/accounting.py) computes ceil(1e9 * rho - 1e-6): the 1e-6 absorbs float error
    when 1e9 * rho is an integer, so both sides of the ledger agree to the unit.
    """
    return math.ceil(NANO * rho(noise_multiplier) - 1e-6)


def _epsilon_of_rho(rho_value: float, delta: float) -> float:
    """OpenDP's zCDP -> (epsilon, delta) conversion of a rho-zCDP Gaussian release (sensitivity 1)."""
    dp.enable_features("contrib")
    gaussian = _gaussian_measurement(1.0 / math.sqrt(2.0 * rho_value))
    return float(dp.c.make_zCDP_to_approxDP(gaussian).map(1.0).epsilon(delta))


def local_rho_limit_nano(epsilon: float, delta: float) -> int:
    """The participant's own limit, stated as (epsilon, delta), in nano-rho (rounded down, never over-grant).

    The largest rho whose conversion by OpenDP (a DP accounting library, never a hand-rolled formula) stays
    within epsilon at delta, found by bisection on the monotone conversion.
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not math.isfinite(epsilon) or epsilon <= 0:
        raise PrivacyError(f"epsilon must be a finite number > 0, got {epsilon!r}")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 < delta < 1:
        raise PrivacyError(f"delta must be in (0, 1), got {delta!r}")
    low, high = 0.0, max(float(epsilon), 1.0)
    try:
        while _epsilon_of_rho(high, delta) <= epsilon:
            high *= 2
        for _ in range(80):
            middle = (low + high) / 2
            if middle <= 0 or middle == low or middle == high:
                break
            if _epsilon_of_rho(middle, delta) <= epsilon:
                low = middle
            else:
                high = middle
    except OpenDPException as error:
        raise PrivacyError(f"OpenDP cannot convert (epsilon {epsilon!r}, delta {delta!r}): {error}") from error
    return math.floor(low * NANO)


# --- Release --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Release:
    """One noised clipped mean, with the public parameters the server needs to account for and verify it."""

    value: float
    n: int
    parameters: Mapping[str, float]
    mechanism: str = GAUSSIAN
    statistic: str = CLIPPED_GAIN

    def __post_init__(self) -> None:
        # Frozen all the way down: a release's parameters must not change after it was drawn.
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))

    @property
    def rho(self) -> float:
        return rho(self.parameters["noise_multiplier"])

    @property
    def rho_nano(self) -> int:
        return rho_nano(self.parameters["noise_multiplier"])

    def to_signal_body(
        self, *, task: int, round: int | None, problem: str, phase: str, plan: str, base: str | None
    ) -> dict[str, Any]:
        """The statement the adapter signs and sends: what was measured (the task, its round and phase, the
        problem, the candidate plan's hash and the portfolio it joins, or null), the noised statistic and the
        mechanism's public parameters; nothing else. The server refuses it unless every field is the task's."""
        if (base is None) != (self.statistic == CLIPPED_GAIN):
            raise PrivacyError(f"a {self.statistic} release names a base portfolio exactly when it is marginal")
        return {
            "task": task,
            "round": round,
            "problem": problem,
            "phase": phase,
            "plan": plan,
            "base": base,
            "statistic": self.statistic,
            "n": self.n,
            "mechanism": self.mechanism,
            "parameters": dict(self.parameters),
            "value": self.value,
        }


def _check_gains(gains: Sequence[float], bound: float, lower: float) -> list[float]:
    if isinstance(gains, str | bytes) or not isinstance(gains, Sequence):
        raise PrivacyError(f"gains must be a sequence of numbers, got {type(gains).__name__}")
    if len(gains) < 1:
        raise PrivacyError("a release needs at least one program (n >= 1)")
    checked = []
    for index, gain in enumerate(gains):
        if isinstance(gain, bool) or not isinstance(gain, numbers.Real):
            raise PrivacyError(f"gain #{index} must be a real number, got {type(gain).__name__} {gain!r}")
        value = float(gain)
        if not math.isfinite(value):
            raise PrivacyError(f"gain #{index} must be finite, got {gain!r}")
        if not lower <= value <= bound:
            raise PrivacyError(f"gain #{index} = {value!r} lies outside [{lower}, {bound}]: clip it first")
        checked.append(value)
    return checked


def _gaussian_measurement(scale: float) -> dp.Measurement:
    """OpenDP's Gaussian mechanism on one float with zCDP output (`make_gaussian` needs `contrib`)."""
    dp.enable_features("contrib")
    space = dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float)
    return dp.m.make_gaussian(*space, scale=scale)


def release(gains: Sequence[float], *, clip: float, noise_multiplier: float, statistic: str = CLIPPED_GAIN) -> Release:
    """The mean of n per-program gains plus Gaussian noise of std m * width * c / n, the mean's replace-one
    sensitivity: width 2 for clipped gains in [-c, c], 1 for marginal gains in [0, c].

    Raises PrivacyError for unclipped or non-finite gains, or if OpenDP certifies a higher cost than we charge.
    """
    bound = _check_clip(clip)
    m = _check_noise_multiplier(noise_multiplier)
    if statistic not in RANGE_WIDTH:
        raise PrivacyError(f"unknown statistic {statistic!r} (known: {', '.join(sorted(RANGE_WIDTH))})")
    lower = bound - RANGE_WIDTH[statistic] * bound
    values = _check_gains(gains, bound, lower)
    n = len(values)
    sensitivity = RANGE_WIDTH[statistic] * bound / n
    std = m * sensitivity
    # fsum is correctly rounded; the clamp keeps a last-ulp rounding from leaving the range.
    mean = min(bound, max(lower, math.fsum(values) / n))
    try:
        measurement = _gaussian_measurement(std)
        certified = measurement.map(sensitivity)
        if certified > rho(m) * (1 + _CERTIFIED_RHO_SLACK):
            raise PrivacyError(f"OpenDP certifies rho = {certified!r}, more than the {rho(m)!r} charged")
        value = float(measurement(mean))
    except OpenDPException as error:
        raise PrivacyError(f"OpenDP refused the release (std {std!r}): {error}") from error
    if not math.isfinite(value):
        raise PrivacyError(f"the noised value is not finite (std {std!r}); lower the noise multiplier")
    parameters = {"noise_multiplier": m, "clip_bound": bound, "std": std, "sensitivity": sensitivity}
    return Release(value=value, n=n, parameters=parameters, statistic=statistic)


# --- The local spend record -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SpendCharge:
    """One charge in the local record: the task it paid for, its cost and when it was taken."""

    task: str
    rho_nano: int
    charged_at: str

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same directory, fsync, os.replace: readers see the old record or the new, never half."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # make the rename itself durable
    finally:
        os.close(directory)


def _read_charges(path: Path) -> list[SpendCharge]:
    """The charges stored at `path`; a missing file is an empty record, an unreadable one is an error."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    try:
        document = json.loads(raw)
        if document.get("version") != RECORD_VERSION:
            raise ValueError(f"unknown version {document.get('version')!r}")
        charges = [SpendCharge(str(c["task"]), int(c["rho_nano"]), str(c["charged_at"])) for c in document["charges"]]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        # Never start over from zero: that would hand the whole budget back.
        raise PrivacyError(f"spend record {path} is unreadable ({error}); restore it before charging") from error
    return charges


def _check_rho_nano(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise PrivacyError(f"{name} must be an integer >= {minimum} (nano-rho), got {value!r}")
    return int(value)


class SpendRecord:
    """The adapter's own ledger of rho spent, checked against the participant's own limit before every task.

    It is a JSON file rewritten atomically under an exclusive `flock`, so parallel adapter processes never
    lose a charge; charging the same task again is a no-op, as the server charges a task once.
    """

    def __init__(self, path: Path, limit_rho_nano: int, charges: list[SpendCharge]) -> None:
        self.path = path
        self.limit_rho_nano = limit_rho_nano
        self._charges = charges

    @classmethod
    def load(cls, path: str | os.PathLike[str], limit_rho_nano: int) -> SpendRecord:
        """Read the record at `path` (none yet is an empty record) under the participant's own limit."""
        limit = _check_rho_nano("limit", limit_rho_nano, minimum=0)
        record_path = Path(path)
        return cls(record_path, limit, _read_charges(record_path))

    @property
    def charges(self) -> tuple[SpendCharge, ...]:
        return tuple(self._charges)

    @property
    def spent_rho_nano(self) -> int:
        return sum(charge.rho_nano for charge in self._charges)

    @property
    def remaining_rho_nano(self) -> int:
        return max(0, self.limit_rho_nano - self.spent_rho_nano)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def charge(self, task_id: int | str, rho_nano: int) -> SpendCharge:
        """Record the cost of `task_id`, or raise LocalBudgetExceeded if it would pass our own limit.

        Re-reads the file under the lock, so charges by other processes count. Returns the (possibly
        earlier) charge of this task.
        """
        cost = _check_rho_nano("charge", rho_nano, minimum=1)
        task = str(task_id)
        with self._locked():
            charges = _read_charges(self.path)
            self._charges = charges
            for existing in charges:
                if existing.task == task:
                    if existing.rho_nano != cost:
                        raise PrivacyError(
                            f"task {task} was already charged {existing.rho_nano} nano-rho, not {cost}: refusing"
                        )
                    return existing
            spent = sum(charge.rho_nano for charge in charges)
            if spent + cost > self.limit_rho_nano:
                raise LocalBudgetExceeded(
                    f"task {task} costs {cost} nano-rho but only {max(0, self.limit_rho_nano - spent)} of the "
                    f"local limit {self.limit_rho_nano} remain: refusing it even though the server leased it"
                )
            new = SpendCharge(task=task, rho_nano=cost, charged_at=datetime.now(UTC).isoformat())
            document = {
                "version": RECORD_VERSION,
                "limit_rho_nano": self.limit_rho_nano,
                "charges": [charge.as_json() for charge in [*charges, new]],
            }
            _write_atomically(self.path, json.dumps(document, indent=1).encode())
            self._charges = [*charges, new]
            return new
