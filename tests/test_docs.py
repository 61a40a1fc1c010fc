"""The reference docs cannot drift from the code: every long option of every command-line parser (each
subcommand too) is in its row of docs/commands.md, and every recipe key the schema accepts is in
recipes/README.md's annotated recipe, which itself holds no key the schema would refuse."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import re
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rl.__main__ import COMMANDS
from rl.recipe import Recipe

REPO = Path(__file__).resolve().parents[1]
# (row prefix in docs/commands.md, module:function taking argv); `python -m rl X` rows start with `X`.
ENTRY_POINTS = [(name, target) for name, (target, _) in COMMANDS.items()] + [
    ("python -m sandbox", "sandbox.__main__"),
    ("python -m verifiers.reward_model", "verifiers.reward_model.__main__"),
    ("python -m rl.smoke.tasks", "rl.smoke.tasks"),
    ("python -m rl.smoke.tiny", "rl.smoke.tiny"),
    ("python -m verifiers.math.bench", "verifiers.math.bench"),
    ("python -m sandbox.bench", "sandbox.bench"),
    ("python -m verifiers.rules.bench", "verifiers.rules.bench"),
    ("python -m verifiers.reward_model.bench", "verifiers.reward_model.bench"),
]


class _Parsed(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def parser_of(target: str, monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    """The parser an entry point builds, caught as it starts parsing (nothing after that runs)."""

    def caught(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> typing.NoReturn:
        raise _Parsed(self)

    for method in ("parse_args", "parse_intermixed_args", "parse_known_args", "parse_known_intermixed_args"):
        monkeypatch.setattr(argparse.ArgumentParser, method, caught)
    module, _, function = target.partition(":")
    with pytest.raises(_Parsed) as parsed:
        getattr(importlib.import_module(module), function or "main")([])
    return parsed.value.parser


def commands(prefix: str, parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The parser and each of its subcommands' parsers, with the row prefix that documents each."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield prefix, parser
    for action in subparsers:
        for name, sub in action.choices.items():
            yield from commands(f"{prefix} {name}", sub)


def long_options(parser: argparse.ArgumentParser) -> list[str]:
    shown = [a for a in parser._actions if a.help is not argparse.SUPPRESS]
    return [o for a in shown for o in a.option_strings if o.startswith("--") and o != "--help"]


def doc_row(doc: str, prefix: str) -> str | None:
    return next((line for line in doc.splitlines() if re.match(rf"\| `{re.escape(prefix)}\b", line)), None)


@pytest.mark.parametrize(("prefix", "target"), ENTRY_POINTS, ids=[p for p, _ in ENTRY_POINTS])
def test_every_long_option_of_every_command_is_in_its_row_of_the_commands_doc(prefix, target, monkeypatch):
    doc = (REPO / "docs" / "commands.md").read_text()
    missing = []
    for command, parser in commands(prefix, parser_of(target, monkeypatch)):
        row = doc_row(doc, command)
        if row is None:
            missing.append(f"no row for `{command}`")
            continue
        missing += [f"{command} {o}" for o in long_options(parser) if not re.search(rf"{o}(?![\w-])", row)]
        if parser.description is None:
            missing.append(f"{command}: no description for --help")
    assert not missing, "docs/commands.md lacks: " + ", ".join(missing)


def schema_keys(cls: type, prefix: str = "") -> set[str]:
    """Dotted keys a recipe may set (list items as `[]`); free-form mappings (training, lora, env, kwargs,
    columns) end at their own key."""
    keys = set()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key, tp = f"{prefix}{f.name}", hints[f.name]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        item = args[0] if typing.get_origin(tp) is list and args else None
        keys.add(key)
        if dataclasses.is_dataclass(tp):
            keys |= schema_keys(tp, f"{key}.")
        elif item is not None and dataclasses.is_dataclass(item):
            keys |= schema_keys(item, f"{key}[].")
    return keys


def documented_keys(node: object, key: str = "") -> set[str]:
    """The dotted keys of the README's annotated recipe, in `schema_keys`' spelling."""
    keys = set()
    if isinstance(node, list):
        for item in node:
            keys |= documented_keys(item, f"{key}[]")
    elif isinstance(node, dict):
        for name, value in node.items():
            sub = f"{key}.{name}" if key else name
            keys.add(sub)
            if name not in {"training", "lora", "env", "kwargs", "columns"}:
                keys |= documented_keys(value, sub)
    return keys


def test_every_recipe_key_the_schema_accepts_is_in_the_recipes_readme_and_no_other():
    text = (REPO / "recipes" / "README.md").read_text()
    block = re.search(r"## Sections\n\n```yaml\n(.*?)```", text, re.S)
    assert block, "recipes/README.md has no ```yaml block under ## Sections"
    documented = documented_keys(yaml.safe_load(block.group(1)))
    schema = schema_keys(Recipe)
    assert not schema - documented, f"recipes/README.md lacks: {sorted(schema - documented)}"
    assert not documented - schema, (
        f"recipes/README.md shows keys the schema refuses: {sorted(documented - schema)}"
    )
