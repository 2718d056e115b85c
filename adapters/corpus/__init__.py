"""The bundled public corpus: the team's own small C programs, each printing `<name> <checksum>` from main.

Subsets (`alpha`, `beta`, `gamma`, `delta`) let demos give different participants different programs.
Each subset's MANIFEST.txt lists `<file> <domain> <expected output line>`.
"""

from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent
SUBSETS = ("alpha", "beta", "gamma", "delta")


@dataclass(frozen=True)
class CorpusProgram:
    subset: str
    path: Path
    domain: str
    expected_output: str

    @property
    def name(self) -> str:
        return self.path.stem


def programs(subsets: tuple[str, ...] = SUBSETS) -> list[CorpusProgram]:
    """The programs of the given subsets, in manifest order."""
    found = []
    for subset in subsets:
        for line in (CORPUS_DIR / subset / "MANIFEST.txt").read_text().splitlines():
            if line.strip():
                file, domain, output = line.split(" ", 2)
                found.append(CorpusProgram(subset, CORPUS_DIR / subset / file, domain, output))
    return found
