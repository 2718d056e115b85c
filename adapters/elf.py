"""What the drivers read from object files: the code-size objective, defined and exported symbols.

Shared by every driver that produces ELF objects, so they all measure size the same way.
"""

from __future__ import annotations

from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

# Bindings a linker resolves across objects: a definition with one of them is part of the module's interface.
_EXPORTED_BINDINGS = frozenset({"STB_GLOBAL", "STB_WEAK", "STB_GNU_UNIQUE", "STB_LOOS"})
_GRP_COMDAT = 0x1


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


def exported_symbols(path: Path) -> list[str]:
    """The symbols the object defines for other objects to link against, sorted: global and weak
    definitions of any visibility (a hidden one still serves the rest of its library). Definitions in
    COMDAT groups are left out: the linker may discard them, so a plan may drop them too (an inlined
    `linkonce_odr` function)."""
    with open(path, "rb") as stream:
        elf = ELFFile(stream)
        order = "little" if elf.little_endian else "big"
        discardable: set[int] = set()
        for section in elf.iter_sections():
            if section["sh_type"] == "SHT_GROUP":  # pyelftools does not decode groups: a flag word, then members
                words = section.data()
                if int.from_bytes(words[:4], order) & _GRP_COMDAT:
                    discardable.update(int.from_bytes(words[i : i + 4], order) for i in range(4, len(words), 4))
        names = set()
        for section in elf.iter_sections():
            if not isinstance(section, SymbolTableSection):
                continue
            for symbol in section.iter_symbols():
                index = symbol["st_shndx"]
                if not symbol.name or index == "SHN_UNDEF" or symbol["st_info"]["bind"] not in _EXPORTED_BINDINGS:
                    continue
                if isinstance(index, int) and index in discardable:
                    continue
                names.add(symbol.name)
    return sorted(names)


__all__ = ["defines_symbol", "executable_bytes", "exported_symbols"]
