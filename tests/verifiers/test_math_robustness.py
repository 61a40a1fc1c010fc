"""`verify` never raises and returns within its timeout on random and adversarial text, in any thread."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifiers.math import extract_answer, math_reward, verify, verify_batch


@pytest.fixture(autouse=True, scope="module")
def _warm_pool():
    """The first call starts the worker pool (seconds on a busy machine) and waits for it: start it before
    the specifications, so that their timeouts measure the answers, not the start."""
    verify_batch(["1"], ["1 + 0"])


TIMEOUT = 1.0
SLACK = 0.5
LATEX = st.sampled_from(
    [
        "\\boxed{",
        "}",
        "{",
        "\\frac{",
        "^{",
        "9",
        "10",
        "x",
        "=",
        "\\sqrt{",
        "$",
        "\\(",
        "\\[",
        "</think>",
        "<think>",
        ",",
        "(",
        ")",
        "\\{",
        "\\}",
        "!",
        "\\pi",
        "\\infty",
        "\\text{",
        "\\begin{pmatrix}",
        "\\\\",
        " ",
    ]
)
adversarial = st.lists(LATEX, max_size=40).map("".join)
texts = st.one_of(st.text(max_size=200), adversarial)


def _timed(gold: str, answer: str) -> tuple[bool, float]:
    t = time.monotonic()
    ok = verify(gold, answer, timeout_s=TIMEOUT)
    return ok, time.monotonic() - t


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gold=texts, answer=texts)
def test_verify_returns_a_bool_in_time_on_any_text(gold, answer):
    ok, took = _timed(gold, answer)
    assert isinstance(ok, bool)
    assert took < TIMEOUT + SLACK


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(texts, texts), min_size=4, max_size=4))
def test_verify_returns_in_time_from_threads(pairs):
    with ThreadPoolExecutor(4) as ex:
        results = list(ex.map(lambda p: _timed(*p), pairs))
    assert all(isinstance(ok, bool) and took < TIMEOUT + SLACK for ok, took in results)


def test_tower_of_powers_times_out_false_in_a_thread():
    with ThreadPoolExecutor(1) as ex:
        ok, took = ex.submit(
            _timed, "1", "\\boxed{9^{9^{9^{9}}} - 9^{9^{9^{9}}} + (2^{3^{4^{5}}})!}"
        ).result()
    assert ok is False
    assert took < TIMEOUT + SLACK


def test_batch_scores_an_overrunning_row_false_and_the_pool_recovers():
    golds = ["1", "2", "3"]
    answers = [
        "\\boxed{(2^{3^{4^{5}}})! - (2^{3^{4^{5}}})! + 1 + \\sum_{k=1}^{10^{9}} k^{k}}",
        "\\boxed{2}",
        "\\boxed{3}",
    ]
    assert verify_batch(golds, answers, timeout_s=1.0)[1:] == [True, True]
    assert verify_batch(["x^2-1"], ["\\boxed{(x-1)(x+1)}"]) == [True]


def test_math_reward_starts_no_more_sympy_workers_than_it_is_given():
    """The launcher sizes each rank's pool (rewards.<i>.kwargs.workers); a fresh process keeps to it."""
    import subprocess
    import sys

    code = (
        "from verifiers.math import math_reward\n"
        "from verifiers.math.workers import get_pool\n"
        "golds = [f'x^2 - {i * i}' for i in range(1, 9)]\n"
        "answers = [f'</think>\\\\boxed{{(x-{i})(x+{i})}}' for i in range(1, 9)]\n"
        "print(math_reward(answers, golds, workers=1), len(get_pool()._idle))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split("]")[-1].strip() == "1", out.stdout + out.stderr
    assert out.stdout.startswith("[1.0, 1.0")  # (x-i)(x+i) = x^2 - i^2: scored through sympy


def test_a_first_verify_in_a_process_is_not_timed_out_by_the_pool_starting():
    """The first `verify` of a process starts the worker pool (forkserver, sympy, parser warm-up: seconds);
    that start used to count against the answer's 1 s, so a right answer needing sympy scored False.
    A fresh process each, so the pool is cold; the wrong answer is the control."""
    import subprocess
    import sys

    code = (
        "from verifiers.math import verify\n"
        "print(verify('x^2 - 1', '\\\\boxed{(x-1)(x+1)}', timeout_s=1.0),"
        " verify('x^2 - 1', '\\\\boxed{(x-1)(x+2)}', timeout_s=1.0))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True", "False"], out.stdout + out.stderr


EMPTY_BODIES = ["30$^\\circ$", "\\boxed{\\text{}}", "$$ $$", "\\boxed{\\,}", "$\\%$", "\\boxed{\\phantom{x}}"]


def test_empty_answer_bodies_score_without_raising_and_leave_other_rows_alone():
    golds = ["30", "7", "7", "7", "7", "7", "7"]
    answers = EMPTY_BODIES + ["\\boxed{7}"]
    assert verify_batch(golds, answers) == [True, False, False, False, False, False, True]
    rewards = math_reward(["</think>" + a for a in answers], answer=golds)
    assert rewards == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize(
    "tail",
    [" " * 60_000, "\n" * 60_000, "\t \n" * 20_000, " " * 60_000 + "x", " " * 60_000 + "."],
)
def test_whitespace_after_a_final_answer_phrase_is_read_in_linear_time(tail):
    # The completion is read in this process before any worker's timeout applies: it must be fast.
    for text in ("The final answer is" + tail, "\\boxed{5} The answer is" + tail, "Answer:" + tail + "5"):
        t = time.monotonic()
        extract_answer(text)
        assert time.monotonic() - t < TIMEOUT
    ok, took = _timed("5", "The final answer is" + tail)
    assert ok is False and took < TIMEOUT + SLACK


def test_a_row_whose_reading_fails_is_none_and_counted_and_the_others_are_scored(monkeypatch):
    import importlib

    from verifiers import failures

    verify_module = importlib.import_module("verifiers.math.verify")  # the module, not the function

    real = verify_module.extract_answer

    def failing(text, *args):
        if "BOOM" in text:
            raise RuntimeError("a bug on this row's text")
        return real(text, *args)

    monkeypatch.setattr(verify_module, "extract_answer", failing)
    failures.drain()
    rewards = math_reward(
        ["</think>\\boxed{7}", "</think>BOOM \\boxed{7}", "</think>\\boxed{8}"], answer=["7"] * 3
    )
    assert rewards == [1.0, None, 0.0]
    assert failures.drain() == {"math_reward": 1}
