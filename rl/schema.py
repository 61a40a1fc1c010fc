"""Typed YAML: a mapping read into nested dataclasses, every key and value checked, and errors that name
the dotted key at fault and the closest valid one (the recipe's schema lives in rl.recipe)."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable
from typing import Any


class RecipeError(ValueError):
    """A recipe that cannot run: `key` is the dotted key at fault, `suggestion` the closest valid key."""

    def __init__(self, message: str, key: str | None = None, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.suggestion = suggestion


def closest(name: str, valid: typing.Iterable[str]) -> str | None:
    """The valid name nearest to a misspelled one (None when nothing is close)."""
    valid = list(valid)
    match = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    if match:
        return match[0]
    lowered = [v for v in valid if name.lower() in v.lower() or v.lower() in name.lower()]
    return lowered[0] if lowered else None


def unknown_key(key: str, valid: typing.Iterable[str], what: str = "key") -> RecipeError:
    parent, _, leaf = key.rpartition(".")
    best = closest(leaf, valid)
    full = f"{parent}.{best}" if parent and best else best
    hint = f"did you mean {full!r}?" if best else f"valid {what}s: {', '.join(sorted(valid))}"
    return RecipeError(f"unknown recipe {what} {key!r}: {hint}", key=key, suggestion=full)


def plain(value: Any) -> Any:
    """Deep copy of YAML data as plain dicts/lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def build(cls: type, raw: Any, prefix: str, misplaced: Callable[[str], str | None] | None = None) -> Any:
    """`cls` from a YAML mapping: unknown keys name the closest valid one (or, through `misplaced`, the
    section they belong to), missing required keys are named, every value is checked against its hint."""
    where = prefix.rstrip(".") or "recipe"
    if not isinstance(raw, dict):
        raise RecipeError(f"{where} must be a mapping, got {raw!r}", key=prefix.rstrip(".") or None)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in raw.items():
        if key not in names:
            belongs = misplaced(key) if misplaced else None
            if belongs:
                raise RecipeError(
                    f"unknown recipe key {key!r}: did you mean {belongs!r}? (it is a key of the "
                    f"{belongs.split('.')[0]} section)",
                    key=key,
                    suggestion=belongs,
                )
            raise unknown_key(prefix + key, names)
        kwargs[key] = convert(value, hints[key], prefix + key)
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise RecipeError(f"{where} lacks required key {prefix + missing[0]!r}", key=prefix + missing[0])
    return cls(**kwargs)


def convert(value: Any, tp: Any, key: str) -> Any:
    """Check/coerce one YAML value against a type hint, naming the key when it does not fit."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert(value, arg, key)
            except RecipeError as e:
                errors.append(e)
        raise errors[0] if len(errors) == 1 else RecipeError(f"{key}: {value!r} does not fit {tp}", key=key)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build(tp, value if value is not None else {}, key + ".")
    if origin is list:
        if not isinstance(value, list):
            raise RecipeError(f"{key} must be a list, got {value!r}", key=key)
        (item_tp,) = typing.get_args(tp) or (Any,)
        return [convert(v, item_tp, f"{key}.{i}") for i, v in enumerate(value)]
    if origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise RecipeError(f"{key} must be a mapping, got {value!r}", key=key)
        _, val_tp = typing.get_args(tp) or (Any, Any)
        return {k: convert(v, val_tp, f"{key}.{k}") for k, v in value.items()}
    return scalar(value, tp, key)


def scalar(value: Any, tp: Any, key: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-6 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    else:
        return value
    raise RecipeError(f"{key} must be {tp.__name__}, got {value!r}", key=key)
