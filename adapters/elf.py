"""What the drivers read from object files: the code-size objective and defined symbols.

Shared by every driver that produces ELF objects, so they all measure size the same way.
"""

from __future__ import annotations

from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection


def executable_bytes(path: Path) -> int:
    """Total size of the sections that are loaded and executable (SHF_ALLOC and SHF_EXECINSTR):
    `.text` plus any `.text.*` split off by -ffunction-sections, without data or unwind tables."""
    wanted = SH_FLAGS.SHF_ALLOC | SH_FLAGS.SHF_EXECINSTR
    with open(path, "rb") as stream:
        return sum(
            section["sh_size"] for section in ELFFile(stream).iter_sections() if section["sh_flags"] & wanted == wanted
        )


def defines_symbol(path: Path, name: str) -> bool:
    """Whether the object defines `name` (not merely references it): a program with `main` can be
    linked and run for differential execution, a library slice cannot."""
    with open(path, "rb") as stream:
        for section in ELFFile(stream).iter_sections():
            if not isinstance(section, SymbolTableSection):
                continue
            for symbol in section.get_symbol_by_name(name) or []:
                if symbol["st_shndx"] != "SHN_UNDEF":
                    return True
    return False


__all__ = ["defines_symbol", "executable_bytes"]
