"""Toolchain drivers: each module wraps one compiler's command-line tools (no Django here)."""


class ToolchainUnavailable(RuntimeError):
    """A toolchain's tools are missing or do not run; the message says how to fix it, in one line."""


__all__ = ["ToolchainUnavailable"]
