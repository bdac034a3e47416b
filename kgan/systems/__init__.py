"""The registry of trainable systems: every module of this package that defines `SYSTEM`
(a `kgan.systems.base.System`) is one `--arch`. A new system is one new module here (plus
its networks and model); nothing else in kgan lists the systems."""
import importlib
import pkgutil

from kgan.errors import UsageError
from kgan.systems.base import Phase, System, SystemConfig, TrainingData

SYSTEMS = {}


def register(system):
    """Adds `system` to the registry (modules of this package are registered on import)."""
    SYSTEMS[system.name] = system
    return system


def _discover():
    for module in pkgutil.iter_modules(__path__):
        system = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SYSTEM", None)
        if system is not None:
            register(system)


def get_system(name):
    """The registered system called `name`; a one-line UsageError for an unknown name."""
    if name not in SYSTEMS:
        raise UsageError(f"unknown --arch {name!r}: choose one of {', '.join(sorted(SYSTEMS))}")
    return SYSTEMS[name]


_discover()

__all__ = ["SYSTEMS", "Phase", "System", "SystemConfig", "TrainingData", "get_system", "register"]
