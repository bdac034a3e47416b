"""Typed options: a system's config and the run's options are frozen dataclasses whose
fields carry their help text, so each option's type, default and help are written once
and the command line, `options.json` and `--resume` are derived from them.

    @config
    class DCGANConfig(NoiseConfig):
        image_size: int = option(64, "image side in pixels")
        latent_dim: int = inherit(100)     # same help as the base class's field, new default

`add_arguments(parser, cls)` adds `--image-size` etc. with defaults of None (so a parse
tells given from default) and "(default 64)" in the help; `from_arguments` fills the rest.
"""
import argparse
import dataclasses

from kgan.errors import UsageError


def option(default, help, *, type=None, choices=None, minimum=None, metavar=None, fixed=True, before=None):
    """A config field: `default`, one-line `help`; `type` defaults to the annotation;
    `choices` restricts values; `minimum` is checked by `validate`; `fixed` False lets a
    resumed run take a new value (paths of weights or data directories); `before` is the
    value of a saved options.json without this field (runs made before the option existed),
    when that differs from the new default."""
    metadata = {"help": help, "type": type, "choices": choices, "minimum": minimum, "metavar": metavar,
                "fixed": fixed, "before": before}
    return dataclasses.field(default=default, metadata=metadata)


class inherit:
    """Marks a field that keeps its base class's help and type with a new default."""

    def __init__(self, default):
        self.default = default


def config(cls):
    """Class decorator: a frozen dataclass whose `inherit(...)` fields copy their base field."""
    annotations = dict(cls.__dict__.get("__annotations__", {}))
    for name, value in list(vars(cls).items()):
        if isinstance(value, inherit):
            base = next(f for b in cls.__mro__[1:] if dataclasses.is_dataclass(b)
                        for f in dataclasses.fields(b) if f.name == name)
            setattr(cls, name, dataclasses.field(default=value.default, metadata=base.metadata))
            annotations[name] = base.type
    cls.__annotations__ = annotations
    return dataclasses.dataclass(frozen=True)(cls)


def _value_type(field):
    return field.metadata.get("type") or field.type


def flag(name):
    return "--" + name.replace("_", "-")


def add_arguments(parser, cls, group_title=None):
    """Adds one flag per field of `cls` to `parser` (in a titled group when given)."""
    target = parser.add_argument_group(group_title) if group_title else parser
    for field in dataclasses.fields(cls):
        meta, kind, default = field.metadata, _value_type(field), field.default
        if kind is bool:
            stated = "" if default is None else f" (default {'on' if default else 'off'})"  # None: the help states it
            target.add_argument(flag(field.name), action=argparse.BooleanOptionalAction, default=None,
                                help=f"{meta['help']}{stated}")
        else:
            target.add_argument(flag(field.name), type=kind, choices=meta.get("choices"), default=None,
                                metavar=meta.get("metavar"),
                                help=f"{meta['help']} (default {'none' if default is None else default})")


def given(namespace, cls):
    """{field: value} of the fields of `cls` that were given on the command line."""
    return {f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)
            if getattr(namespace, f.name, None) is not None}


def names(cls):
    return {f.name for f in dataclasses.fields(cls)}


def validate(instance):
    """One-line UsageError for a field below its `minimum`."""
    for field in dataclasses.fields(instance):
        minimum, value = field.metadata.get("minimum"), getattr(instance, field.name)
        if minimum is not None and value is not None and value < minimum:
            raise UsageError(f"{flag(field.name)} must be at least {minimum}, got {value}")
    return instance


def to_dict(instance):
    return dataclasses.asdict(instance)


def from_dict(cls, values):
    """`cls` from a dict, ignoring keys it does not have (options of older or other formats);
    missing keys take their `before` value if they have one, else their defaults."""
    absent = {f.name: f.metadata["before"] for f in dataclasses.fields(cls)
              if f.name not in values and f.metadata.get("before") is not None}
    return cls(**absent, **{k: v for k, v in values.items() if k in names(cls)})
