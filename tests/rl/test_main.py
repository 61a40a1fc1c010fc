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
    assert capsys.readouterr().err.splitlines()[-1].startswith("error: unknown command 'nope'")


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["eval", "--model", "runs/x", "--suites", "nope"], 2, "unknown suite(s) nope: choose from"),
        (["eval", "--model", "runs/x", "--samples", "0"], 2, "--samples must be at least 1"),
        (["eval", "--model", "a", "b", "--out", "r.json"], 2, "--out names one report"),
        (["filter", "recipes/smoke/stage1.yaml", "--model", "runs/x", "--samples", "1"], 2, "--samples must"),
        (["report", "no/such/run"], 1, "no/such/run"),
        (["plot", "no/such/run"], 2, "no metrics.jsonl in no/such/run"),
        (["gpu-check", "--rehearsal", "--only", "nope"], 2, "unknown part(s) nope"),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else None,
)
def test_every_command_says_a_user_error_in_one_line_starting_with_error(
    argv, code, says, capsys, monkeypatch
):
    monkeypatch.chdir(REPO)
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("error: ") and says in err[-1], err


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "recipes/smoke/stage1.yaml", "--print", "modle.dtype=float32"],
        ["data", "recipes/smoke/stage1.yaml", "--report", "unused.json", "modle.dtype=float32"],
        ["filter", "recipes/smoke/stage1.yaml", "--model", "runs/none", "modle.dtype=float32"],
        ["bench", "--steps", "1", "modle.dtype=float32"],
    ],
    ids=lambda argv: argv[0],
)
def test_an_override_after_an_option_is_read_as_an_override(argv, capsys, monkeypatch):
    # `rl data RECIPE --out F key=value` must apply key=value (argparse alone says "unrecognized arguments")
    monkeypatch.chdir(REPO)
    assert main(argv) == 2
    assert "unknown recipe key 'modle': did you mean 'model'?" in capsys.readouterr().err


def test_each_command_help_describes_it_in_whole_sentences(capsys):
    for command in COMMANDS:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        help_ = capsys.readouterr().out
        description = help_.split("\n\n")[1]
        assert description.rstrip().endswith((".", ")")), f"{command} --help: {description!r}"
