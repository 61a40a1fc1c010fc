"""One final-answer rule for every reward: with the `<think>\\n` prefill, a completion that never closes its
thinking has given no final answer and scores like a wrong answer (0, never None); the same answer after
`</think>` is the honest control. A bare answer still works where no thought was prefilled."""

import json

import pytest

from verifiers import failures
from verifiers.code import code_reward, extract_code
from verifiers.completion import completion_text, final_answer, prompt_text
from verifiers.math import math_reward, verify
from verifiers.reward_model import make_reward_function
from verifiers.reward_model.reward import score_unanswered
from verifiers.rules.format import format_reward
from verifiers.rules.ifeval import ifeval_reward
from verifiers.rules.language import language_consistency_reward
from verifiers.rules.repetition import repetition_reward
from verifiers.rules.tool_call import tool_call_reward

THOUGHT = "Let me work this out carefully. "


def test_text_of_strings_message_dicts_and_chat_lists():
    chat = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a</think>4"}]
    assert completion_text("x") == "x"
    assert completion_text({"role": "assistant", "content": "y"}) == "y"
    assert completion_text(chat) == "a</think>4"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "z"}]}]) == "z"
    assert completion_text(None) == ""
    assert prompt_text(chat) == "q"


def test_final_answer_is_after_the_last_closing_tag():
    assert final_answer("a</think>b</think> 7 ") == "7"


@pytest.mark.parametrize(
    "completion",
    [
        THOUGHT + "So the answer is \\boxed{7}.",  # prefilled thought never closed
        "<think>" + THOUGHT + "\\boxed{7}",  # its own thought never closed
        THOUGHT + "</think>   \n",  # closed, but nothing after it
        THOUGHT + "<|im_end|>next turn</think>7",  # the closing tag only after the turn ended
        THOUGHT + "</think> <think> \\boxed{7}",  # a second thought opened after the first, never closed
        THOUGHT + "</think>\\boxed{7}<think>on second thought",
    ],
)
def test_no_final_answer(completion):
    assert final_answer(completion) is None


def test_a_bare_answer_counts_only_where_no_thought_was_prefilled():
    assert final_answer("\\boxed{7}", think_prefill=False) == "\\boxed{7}"
    assert final_answer("\\boxed{7}") is None
    assert final_answer("<think>still going \\boxed{7}", think_prefill=False) is None


def test_verify_keeps_reading_bare_answers_and_completions():
    assert verify("7", "\\boxed{7}")
    assert verify("7", "The answer is 7")
    assert verify("7", THOUGHT + "</think> \\boxed{7}")
    assert not verify("7", "<think>" + THOUGHT + "\\boxed{7}")


def test_math_unanswered_is_zero_not_none():
    got = math_reward([THOUGHT + "\\boxed{7}", THOUGHT + "</think>\\boxed{7}"], answer=["7", "7"])
    assert got == [0.0, 1.0]
    assert math_reward(["\\boxed{7}"], answer=["7"], think_prefill=False) == [1.0]


def test_math_unanswered_with_an_unreadable_gold_is_still_none():
    failures.drain()
    assert math_reward([THOUGHT + "\\boxed{7}"], answer=["\\frac{"]) == [None]
    assert failures.drain() == {"math_reward": 1}


def test_code_unanswered_is_zero_without_reaching_a_sandbox(monkeypatch):
    monkeypatch.delenv("SANDBOX_URL", raising=False)
    program = "```python\nprint(1)\n```"
    tests = json.dumps({"inputs": [""], "outputs": ["1\n"]})
    assert code_reward([THOUGHT + program], [tests]) == [0.0]
    assert extract_code(THOUGHT + "</think>\n" + program) == "print(1)\n"
    assert extract_code(program, think_prefill=False) == "print(1)\n"


def test_ifeval_unanswered_follows_no_instruction():
    ids, kws = [["punctuation:no_comma"]] * 2, [[{}]] * 2
    answer = "A quiet river slides past the mill."
    got = ifeval_reward([THOUGHT + answer, THOUGHT + "</think>\n" + answer], ids, kws)
    assert got == [0.0, 1.0]


def test_format_unanswered_is_malformed():
    assert format_reward([THOUGHT + "4", THOUGHT + "</think>4"]) == [0.0, 1.0]


def test_language_unanswered_is_zero_even_with_the_thought_checked():
    prompt = [{"role": "user", "content": "Describe the weather in a few friendly sentences for a child."}]
    answer = "The sun is shining and the sky is a bright blue today."
    for include_thought in (False, True):
        got = language_consistency_reward(
            [THOUGHT + answer, THOUGHT + "</think>" + answer],
            prompts=[prompt] * 2,
            include_thought=include_thought,
        )
        assert got == [0.0, 1.0]


def test_repetition_penalises_a_loop_whether_or_not_it_ever_closes():
    loop = "I will check again. " * 60
    got = repetition_reward([loop, loop + "</think>4", THOUGHT + "</think>4"])
    assert got[0] < -0.5 and got[1] < -0.5 and got[2] == 0.0


def test_tool_call_unanswered_scores_zero_even_where_no_call_is_due():
    tools = json.dumps([{"name": "f", "parameters": {"type": "object", "properties": {}}}])
    got = tool_call_reward(
        [THOUGHT, THOUGHT + "</think>No tool is needed."], tools=[tools] * 2, ground_truth=["[]"] * 2
    )
    assert got == [0.0, 1.0]


def test_reward_model_places_unanswered_below_every_answer_of_its_group():
    got = score_unanswered([2.0, None, 4.0, None, None], ["a", "a", "a", "b", "b"], normalize=True)
    assert got[:3] == [-1.0, -2.0, 1.0]
    assert got[3:] == [0.0, 0.0]  # nobody in the group answered: no signal
    assert score_unanswered([5.0, None], ["a", "a"], normalize=False) == [5.0, 4.0]


def test_reward_model_never_sends_an_unanswered_completion_to_the_model():
    from sandbox import free_port

    failures.drain()
    reward = make_reward_function(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    assert reward([THOUGHT, THOUGHT + "<think>"], prompts=["p", "p"]) == [0.0, 0.0]
    assert failures.drain() == {}


def test_math_answer_inside_a_reopened_thought_is_unanswered():
    # Closing the prefilled thought and opening another that never closes leaves the answer in reasoning.
    got = math_reward(
        [THOUGHT + "</think> <think> \\boxed{7}", THOUGHT + "</think> \\boxed{7}"], answer=["7", "7"]
    )
    assert got == [0.0, 1.0]
