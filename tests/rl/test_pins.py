"""Model pins: a model revision is a full commit id, and it reaches every place a hub model is read
(the trainer's policy and tokenizer, the reward model, `rl download`), shown on an offline hub cache whose
`main` has moved past the pinned commit."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rl.recipe import RecipeError, load_recipe

REPO = Path(__file__).resolve().parents[2]
PINNED = "0123456789abcdef0123456789abcdef01234567"
MOVED = "fedcba9876543210fedcba9876543210fedcba98"  # what `main` points at now; not in the cache
STAGE2 = {
    "name": "pins",
    "stage": "stage2",
    "model": {"name_or_path": "acme/policy", "revision": PINNED},
    "data": {"mixture": [{"source": "local:smoke/ifeval", "task": "ifeval"}]},
    "rewards": [{"name": "reward_model"}],
    "reward_model": {"path_or_url": "acme/rm", "revision": PINNED},
}


def write(tmp_path: Path, recipe: dict) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.mark.parametrize("key", ["model.revision", "reward_model.revision"])
@pytest.mark.parametrize("value", ["main", "v1.0", "8faed76", "0123456789ABCDEF0123456789ABCDEF01234567"])
def test_a_model_revision_must_be_a_full_commit_id(tmp_path, key, value):
    with pytest.raises(RecipeError, match="not a full 40-hex commit id") as info:
        load_recipe(write(tmp_path, STAGE2), [f"{key}={value}"])
    assert info.value.key == key and str(info.value).startswith(f"{key}: revision {value!r}")


def test_an_unpinned_hub_model_warns_once_and_a_local_path_needs_no_revision(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="rl.pins")
    unpinned = ["model.name_or_path=acme/unpinned-policy", "model.revision=null"]
    for _ in range(2):
        load_recipe(write(tmp_path, STAGE2), unpinned)
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "acme/unpinned-policy at the moving main branch (no model.revision)" in warning
    caplog.clear()
    local = tmp_path / "checkpoint"
    local.mkdir()
    load_recipe(write(tmp_path, STAGE2), [f"model.name_or_path={local}", "model.revision=null"])
    load_recipe(write(tmp_path, STAGE2), ["reward_model.path_or_url=http://127.0.0.1:8001"])
    assert caplog.records == []


def _cache(hf_home: Path, repo: str, model_dir: Path) -> None:
    """The hub cache layout `hf download` leaves: the pinned snapshot, and `main` moved on since."""
    folder = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    shutil.copytree(model_dir, folder / "snapshots" / PINNED)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(MOVED)


LOADS = """
import json, sys
from rl.download import build_plan, fetch
from rl.recipe import load_recipe
from rl.rewards import resolve
from rl.pins import pinned_snapshot
from rl.train import build_trainer
from transformers import AutoTokenizer

def loads(overrides):
    recipe, out = load_recipe(sys.argv[1], overrides), {}
    def attempt(name, fn):
        try:
            out[name] = fn()
        except Exception as e:
            out[name] = type(e).__name__
    attempt("download", lambda: [fetch(i) or i.repo_id for i in build_plan([sys.argv[1]], overrides, [])])
    path = pinned_snapshot(recipe.model_path, recipe.model.revision)
    attempt("policy", lambda: build_trainer(recipe).model.name_or_path)  # what TRL's colocated vLLM loads
    attempt("tokenizer", lambda: type(AutoTokenizer.from_pretrained(path, revision=recipe.model.revision)).__name__)
    attempt("reward", lambda: resolve("reward_model", recipe)(["</think>Paris."], prompts=["Capital of France?"]))
    return out

dtype = ["model.dtype=float32", "wandb.enabled=false", f"output_dir={sys.argv[2]}"]
print(json.dumps([loads(dtype), loads(dtype + ["model.revision=null", "reward_model.revision=null"])]))
"""


def test_the_pinned_commit_is_what_the_trainer_the_reward_model_and_rl_download_read(tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rl.smoke.tiny import build_tiny

    tiny = build_tiny(tmp_path / "tiny")
    rm = tmp_path / "rm"
    AutoModelForSequenceClassification.from_pretrained(tiny, num_labels=1).save_pretrained(rm)
    AutoTokenizer.from_pretrained(tiny).save_pretrained(rm)
    _cache(tmp_path / "hf", "acme/policy", tiny)
    _cache(tmp_path / "hf", "acme/rm", rm)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-c", LOADS, str(write(tmp_path, STAGE2)), str(tmp_path / "run")]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    pinned, unpinned = json.loads(done.stdout.strip().splitlines()[-1])
    assert pinned["download"] == ["acme/policy", "acme/rm"]
    assert pinned["policy"].endswith(f"models--acme--policy/snapshots/{PINNED}")
    assert pinned["tokenizer"].startswith("Qwen2Tokenizer")
    assert len(pinned["reward"]) == 1 and pinned["reward"][0] is not None
    # Control: without the pins every load asks for `main`, whose commit the cache does not hold.
    assert unpinned["download"] != pinned["download"] and unpinned["policy"] != pinned["policy"]
    assert unpinned["tokenizer"] != pinned["tokenizer"] and unpinned["reward"] == [None]


CLI_PINS = """
import sys
from rl.pins import model_argument
print(model_argument(sys.argv[1] + "@" + sys.argv[2]))
"""


def test_command_line_models_are_pinned_as_id_at_commit(tmp_path, caplog, capsys, monkeypatch):
    """`rl eval --model` / `rl filter --model`: ID@COMMIT reads that snapshot; a bad pin is one error."""
    from huggingface_hub import constants

    from rl.eval.evaluate import main as rl_eval
    from rl.pins import model_argument

    _cache(tmp_path / "hf", "acme/policy", REPO / "recipes")  # any folder: only the snapshot path is read
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-c", CLI_PINS, "acme/policy", PINNED]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith(f"models--acme--policy/snapshots/{PINNED}")
    local = tmp_path / "ckpt@1"
    local.mkdir()
    assert model_argument(str(local)) == str(local)  # a path is loaded as given, '@' and all
    _cache(tmp_path / "hf", "acme/latest", REPO / "recipes")
    (tmp_path / "hf/hub/models--acme--latest/refs/main").write_text(PINNED)  # main is the cached commit
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with caplog.at_level(logging.WARNING, logger="rl.pins"):
        assert model_argument("acme/latest") == "acme/latest"
    assert "moving main branch" in caplog.text
    with pytest.raises(ValueError, match="full 40-hex commit"):
        model_argument("acme/policy@main")
    assert rl_eval(["--model", "acme/policy@8faed76", "--suites", "gsm8k", "--limit", "1"]) == 2
    assert "error: --model acme/policy@8faed76: revision '8faed76' is not a full" in capsys.readouterr().err
    from rl.difficulty import main as rl_filter

    assert rl_filter([str(REPO / "recipes/smoke/stage1.yaml"), "--model", "acme/policy@main"]) == 2
    assert "error: --model acme/policy@main: revision 'main' is not a full" in capsys.readouterr().err


MISTYPED = {
    "eval": ["eval", "--model", "runs/none", "--suites", "smoke_math"],
    "filter": ["filter", "recipes/smoke/stage1.yaml", "--model", "runs/none"],
    "train": ["train", "recipes/smoke/stage1.yaml", "model.from_stage=null", "model.name_or_path=runs/none"],
    "data": ["data", "recipes/smoke/stage1.yaml", "model.from_stage=null", "model.name_or_path=runs/none"],
}


def _rl(argv: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env = {**base, "HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": str(REPO), **env}
    where = ["--out", f"{tmp_path}/runs/eval.json"] if argv[0] == "eval" else [f"output_dir={tmp_path}/runs"]
    argv = [sys.executable, "-m", "rl", *argv, *where]
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", sorted(MISTYPED))
def test_a_mistyped_model_path_is_one_error_line_at_once_offline(tmp_path, command):
    """`runs/none` looks like a hub id; offline it is not in the cache: one `error:` line, no traceback."""
    done = _rl(MISTYPED[command], tmp_path, HF_HUB_OFFLINE="1")
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert (
        done.stderr.startswith("error: ")
        and "runs/none is neither a directory here nor a hub model" in done.stderr
    )
    assert "check the path" in done.stderr and "HF_HUB_OFFLINE=0" in done.stderr
    assert not (tmp_path / "runs").exists()  # nothing ran


@pytest.mark.parametrize("command", ["eval", "train"])
def test_a_model_neither_here_nor_cached_is_one_error_when_the_hub_is_unreachable(tmp_path, command):
    """Without HF_HUB_OFFLINE and without network (a closed loopback port as the hub) the same: no retries."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    try:
        hub = f"http://127.0.0.1:{closed.getsockname()[1]}"
        done = _rl(MISTYPED[command], tmp_path, HF_ENDPOINT=hub)
    finally:
        closed.close()
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "runs/none is neither a directory here nor a hub model available offline" in done.stderr
    assert "the hub is unreachable" in done.stderr and "on a machine with network" in done.stderr


def test_a_missing_local_path_and_a_file_are_errors_and_a_cached_hub_model_is_found(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from rl.pins import ModelNotFoundError, locate_model

    with pytest.raises(ModelNotFoundError, match=r"--model \./nope: no such directory .*check the path"):
        locate_model("./nope")
    weights = tmp_path / "model.safetensors"
    weights.write_text("")
    with pytest.raises(ModelNotFoundError, match="is a file, not a model directory"):
        locate_model(str(weights))
    assert locate_model(str(tmp_path)) == str(tmp_path)
    _cache(tmp_path / "hf", "acme/policy", REPO / "recipes")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert locate_model("acme/policy", PINNED) == "acme/policy"
    with pytest.raises(
        ModelNotFoundError, match="HF_HUB_OFFLINE is set and the HF cache has no acme/policy at"
    ):
        locate_model("acme/policy", MOVED)  # main moved past the cached commit
