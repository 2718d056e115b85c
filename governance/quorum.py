"""Quorum and threshold arithmetic, pure so it can be tested exhaustively (exact fractions, no floats)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rules:
    quorum: int
    numerator: int
    denominator: int

    @classmethod
    def from_document(cls, document: dict) -> "Rules":
        threshold = document["threshold"]
        return cls(document["quorum"], threshold["numerator"], threshold["denominator"])


@dataclass(frozen=True)
class Tally:
    yes: int = 0
    no: int = 0
    abstain: int = 0

    @property
    def cast(self) -> int:
        return self.yes + self.no + self.abstain

    def as_dict(self) -> dict[str, int]:
        return {"yes": self.yes, "no": self.no, "abstain": self.abstain}


def _meets_threshold(yes: int, no: int, rules: Rules) -> bool:
    """yes / (yes + no) >= numerator / denominator, with at least one yes (abstentions only count to quorum)."""
    return yes > 0 and yes * rules.denominator >= rules.numerator * (yes + no)


def outcome(tally: Tally, remaining: int, rules: Rules) -> tuple[str, str] | None:
    """("accepted" | "rejected", reason) once the result is certain, else None.

    `remaining` is how many eligible members have not voted: a proposal is rejected early only when
    no way of casting the remaining votes could still accept it.
    """
    if tally.cast >= rules.quorum and _meets_threshold(tally.yes, tally.no, rules):
        return "accepted", f"quorum {tally.cast}/{rules.quorum} and {tally.yes} yes of {tally.yes + tally.no}"
    if tally.cast + remaining < rules.quorum:
        return "rejected", f"quorum of {rules.quorum} votes is out of reach"
    if not _meets_threshold(tally.yes + remaining, tally.no, rules):
        return "rejected", "the yes threshold is out of reach"
    return None
