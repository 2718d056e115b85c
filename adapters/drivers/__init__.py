"""Toolchain drivers behind one interface (`base.Driver`), looked up by toolchain name."""

from adapters.drivers import cranelift as _cranelift  # noqa: F401  (registers the cranelift driver)
from adapters.drivers import gcc as _gcc  # noqa: F401  (registers the gcc driver)
from adapters.drivers import llvm as _llvm  # noqa: F401  (registers the llvm driver)
from adapters.drivers import synthetic as _synthetic  # noqa: F401  (registers the synthetic driver)
from adapters.drivers.base import CorpusError, Driver, Measurement, driver_names, get_driver

__all__ = ["CorpusError", "Driver", "Measurement", "driver_names", "get_driver"]
