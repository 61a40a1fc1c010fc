"""Answer format as QwQ's chat template renders it, and DAPO's soft over-length penalty."""

import pytest

from verifiers.rules.format import format_reward
from verifiers.rules.length import overlong_penalty_reward


def test_completion_that_closes_the_prefilled_thought_once_and_answers_scores_one():
    assert format_reward(["Let me add 2 and 2.\n</think>\n\nThe answer is 4."]) == [1.0]


@pytest.mark.parametrize(
    "completion",
    [
        "Let me add 2 and 2. The answer is 4.",  # never leaves the thought
        "Let me add.</think>\n   \n",  # empty answer
        "First.</think>Second.</think>The answer is 4.",  # two closings
        "Let me add.</think><think>again</think>4",  # re-opens a thought
        "Let me add.</think>The answer <think> is 4.",  # stray opening tag in the answer
        "Let me add.</think>\u200b",  # an answer of a zero-width space shows nothing
        "Let me add.</think>\n\u3164\u2060\u00ad\n",  # Hangul filler, word joiner, soft hyphen
    ],
)
def test_malformed_structure_scores_zero(completion):
    assert format_reward([completion]) == [0.0]


def test_chat_message_completions_are_read():
    assert format_reward([[{"role": "assistant", "content": "hmm</think>4"}]]) == [1.0]


def test_overlong_penalty_is_zero_then_linear_in_the_buffer_then_minus_one():
    ids = [[0] * n for n in (60, 80, 90, 100, 101)]
    got = overlong_penalty_reward(
        ["x"] * 5, completion_ids=ids, max_completion_length=100, overlong_buffer=20
    )
    assert got == [0.0, 0.0, -0.5, -1.0, -1.0]


def test_overlong_penalty_estimates_tokens_from_characters_without_ids():
    got = overlong_penalty_reward(["a" * 400, "a" * 360], max_completion_length=100, overlong_buffer=20)
    assert got == [-1.0, -0.5]


def test_overlong_penalty_rejects_a_buffer_larger_than_the_limit():
    with pytest.raises(ValueError, match="overlong_buffer"):
        overlong_penalty_reward(["x"], max_completion_length=10, overlong_buffer=20)
