"""The public corpus each toolchain is searched on for free (docs/design.md §4): the bundled programs, or for the
synthetic toolchain a fixed set of variants of its default problem."""

from pathlib import Path

from django.conf import settings

from adapters.corpus import programs
from adapters.drivers.synthetic import write_corpus
from adapters.plan import problem_toolchain

SYNTHETIC_PUBLIC_VARIANTS = 8


def public_corpus(problem_class: str, subsets: tuple[str, ...] | None = None) -> list[Path]:
    toolchain = problem_toolchain(problem_class)
    if toolchain == "synthetic":
        return write_corpus(Path(settings.VAR_DIR) / "public-corpus" / "synthetic", count=SYNTHETIC_PUBLIC_VARIANTS)
    chosen = programs(subsets) if subsets else programs()
    return [program.path for program in chosen]
