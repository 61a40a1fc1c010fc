"""`python -m rl`: every command resolves to a callable entry point and is documented in docs/commands.md."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from rl.__main__ import COMMANDS, main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_has_an_entry_point_and_a_documented_module(command):
    module_name, _, function = COMMANDS[command][0].partition(":")
    assert callable(getattr(importlib.import_module(module_name), function or "main"))
    doc = (REPO / "docs" / "commands.md").read_text()
    row = next((line for line in doc.splitlines() if line.startswith(f"| `{command}")), None)
    assert row is not None, f"docs/commands.md has no row for `python -m rl {command}`"
    assert f"`{module_name.replace('.', '/')}.py`" in row


def test_the_docs_the_readme_links_to_exist():
    links = re.findall(r"\]\((docs/[^)]+)\)", (REPO / "README.md").read_text())
    assert links and all((REPO / link).is_file() for link in links)


def test_an_unknown_command_is_a_usage_error(capsys):
    assert main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err
