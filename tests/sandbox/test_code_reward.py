"""verifiers.code.code_reward against the real server: extraction, scoring, and failures counted as None."""

import json

import pytest

from verifiers import failures
from verifiers.code import code_reward, extract_code

SUM = json.dumps(
    {"mode": "stdio", "tests": [{"input": "2 3\n", "output": "5\n"}, {"input": "1 1\n", "output": "2\n"}]}
)
GOOD = "<think>add them</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
HALF = "<think>guess</think>\n```python\nprint(5)\n```"  # right on the first test only


@pytest.fixture
def sandbox_env(sandbox_url, monkeypatch):
    monkeypatch.setenv("SANDBOX_URL", sandbox_url)
    failures.drain()
    return sandbox_url


def test_extract_takes_the_last_block_after_think():
    text = (
        "<think>```python\nprint('draft')\n```</think>Answer:\n```python\nprint(1)\n```\n```py\nprint(2)\n```"
    )
    assert extract_code(text) == "print(2)\n"


def test_extract_ignores_blocks_inside_unfinished_reasoning():
    assert extract_code("<think>```python\nprint(1)\n```") is None
    assert extract_code("no code at all") is None


def test_scores_binary_fraction_and_codeforces(sandbox_env):
    assert code_reward([GOOD, HALF], [SUM, SUM]) == [1.0, 0.0]
    assert code_reward([GOOD, HALF], [SUM, SUM], scoring="fraction") == [1.0, 0.5]
    wrong_first = "<think>guess</think>\n```python\nprint(2)\n```"  # fails test 1, passes test 2
    assert code_reward([HALF, wrong_first], [SUM, SUM], scoring="codeforces") == [0.5, 0.0]
    assert code_reward([wrong_first], [SUM], scoring="fraction") == [0.5]


def test_the_recipe_sandbox_url_wins_over_the_environment(sandbox_url, monkeypatch):
    """rl binds the recipe's sandbox.url as `sandbox_url`; SANDBOX_URL is only the standalone fallback."""
    monkeypatch.setenv("SANDBOX_URL", "unix:/nonexistent/sandbox.sock")
    failures.drain()
    assert code_reward([GOOD, HALF], [SUM, SUM], sandbox_url=sandbox_url, scoring="fraction") == [1.0, 0.5]
    assert failures.drain() == {}


def test_without_any_sandbox_url_the_error_says_where_to_set_it(monkeypatch):
    monkeypatch.delenv("SANDBOX_URL", raising=False)
    with pytest.raises(RuntimeError, match="sandbox.url"):
        code_reward([GOOD], [SUM])


def test_chat_completions_and_dict_tests_are_accepted(sandbox_env):
    comp = [{"role": "assistant", "content": GOOD}]
    assert code_reward([comp], [json.loads(SUM)]) == [1.0]


def test_non_code_rows_are_none_and_not_failures(sandbox_env):
    assert code_reward([GOOD, GOOD], [None, ""]) == [None, None]
    assert failures.drain() == {}


def test_no_code_block_scores_zero_not_none(sandbox_env):
    assert code_reward(["I think the answer is 5."], [SUM]) == [0.0]
    assert failures.drain() == {}


def test_unreachable_sandbox_is_none_and_counted(monkeypatch):
    import verifiers.code as vc

    monkeypatch.setenv("SANDBOX_URL", "unix:/nonexistent/sandbox.sock")
    monkeypatch.setattr(vc, "_RETRIES", 1)
    failures.drain()
    assert code_reward([GOOD], [SUM]) == [None]
    assert failures.drain() == {"code_reward": 1}


def test_a_dead_server_in_the_list_is_skipped(sandbox_env, monkeypatch):
    monkeypatch.setenv("SANDBOX_URL", f"unix:/nonexistent/sandbox.sock,{sandbox_env}")
    assert code_reward([GOOD] * 5, [SUM] * 5) == [1.0] * 5
    assert failures.drain() == {}


def test_malformed_tests_row_is_none_and_counted(sandbox_env):
    bad = json.dumps({"mode": "function", "tests": [{"input": [], "output": 1}]})  # no fn_name
    assert code_reward([GOOD], [bad]) == [None]
    assert failures.drain() == {"code_reward": 1}


def test_many_completions_are_batched_and_stay_in_order(sandbox_env):
    comps = [f"</think>\n```python\nprint({i})\n```" for i in range(150)]
    tests = [
        json.dumps({"mode": "stdio", "tests": [{"input": "", "output": f"{i if i % 3 else -1}\n"}]})
        for i in range(150)
    ]
    assert code_reward(comps, tests) == [1.0 if i % 3 else 0.0 for i in range(150)]
