"""verifiers.code.code_reward against the real server: extraction, scoring, and failures counted as None."""

import json

import pytest

from verifiers import failures
from verifiers.code import code_reward, extract_code, extract_program

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


RIGHT = "a, b = map(int, input().split())\nprint(a + b)\n"
WRONG = "a, b = map(int, input().split())\nprint(a - b)\n"


def _answer(*blocks: tuple[str, str]) -> str:
    """A completion whose final answer is these fenced blocks (tag, body), in order, with prose between."""
    fenced = "\n\nFor example:\n\n".join(f"```{tag}\n{body}```" for tag, body in blocks)
    return f"<think>add them</think>\nHere is the program.\n\n{fenced}\n"


EXAMPLE_OUTPUTS = {
    "text": ("text", "5\n"),
    "output": ("output", "5\n"),
    "console": ("console", "$ python3 solution.py\n2 3\n5\n"),
    "untagged": ("", "5\n"),
    "shell": ("bash", "echo '2 3' | python3 solution.py\n"),
    "plaintext": ("plaintext", "Input: 2 3\nOutput: 5\n"),
}


@pytest.mark.parametrize("shown", list(EXAMPLE_OUTPUTS))
def test_control_an_example_output_after_the_program_is_not_what_is_judged(sandbox_env, shown):
    """An honest answer: the program, then what it prints. The program is judged, not the output."""
    answer = _answer(("python", RIGHT), EXAMPLE_OUTPUTS[shown])
    assert extract_code(answer) == RIGHT
    assert code_reward([answer], [SUM]) == [1.0]


def test_the_program_is_the_last_language_tagged_block_else_untagged_else_any():
    assert extract_program(_answer(("py", "print(1)\n"), ("", "print(2)\n"))) == ("python", "print(1)\n")
    assert extract_program(_answer(("", "print(1)\n"), ("text", "print(2)\n"))) == (None, "print(1)\n")
    assert extract_program(_answer(("text", "print(2)\n"))) == (None, "print(2)\n")  # the only block
    assert extract_program(_answer(("c++", "int main(){}\n"), ("output", "0\n"))) == ("cpp", "int main(){}\n")
    assert extract_program(_answer(("python", "print(1)\n"), ("python", "  \n"))) == ("python", "print(1)\n")


WRONG_THEN_RIGHT = {
    "right, then wrong in python": [("python", RIGHT), ("python", WRONG)],
    "wrong in python, then right as text": [("python", WRONG), ("text", RIGHT)],
    "wrong in python, then right untagged": [("python", WRONG), ("", RIGHT)],
    "wrong in python, then right as output": [("python", WRONG), ("output", RIGHT)],
    "wrong in python, then right as a shell block": [("python", WRONG), ("sh", RIGHT)],
    "right as text, then wrong untagged": [("text", RIGHT), ("", WRONG)],
    "wrong in python, then the expected output": [("python", WRONG), ("text", "5\n")],
}


@pytest.mark.parametrize("name", list(WRONG_THEN_RIGHT))
def test_attack_a_block_of_a_lower_rank_never_displaces_the_program(sandbox_env, name):
    """Attack: the rule reads tags and order only, so the policy cannot hedge with a second program in
    an output-looking block, or put its answer's expected output where a program would be judged."""
    assert code_reward([_answer(*WRONG_THEN_RIGHT[name])], [SUM]) == [0.0], name


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


def test_each_rank_starts_its_round_robin_at_its_local_rank():
    """Ranks 0..2 of a node, each a real process, send their first batch to replica 0..2 respectively."""
    import http.server
    import os
    import subprocess
    import sys
    import threading

    hits: list[int] = []

    def replica(i: int) -> http.server.ThreadingHTTPServer:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server hook name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hits.append(i)
                ok = {"passed": 1, "total": 1, "verdicts": ["accepted"], "reward": 1.0}
                data = json.dumps({"results": [ok] * len(body["requests"])}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    servers = [replica(i) for i in range(3)]
    urls = ",".join(f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    call = f"from verifiers.code import code_reward; print(code_reward([{GOOD!r}], [{SUM!r}]))"
    try:
        for rank in range(3):
            env = {**os.environ, "SANDBOX_URL": urls, "LOCAL_RANK": str(rank)}
            out = subprocess.run(
                [sys.executable, "-c", call], env=env, capture_output=True, text=True, timeout=60
            )
            assert out.stdout.strip() == "[1.0]", out.stderr
    finally:
        for s in servers:
            s.shutdown()
    assert hits == [0, 1, 2]


def test_a_lone_surrogate_in_one_program_is_that_rows_compile_error_not_the_whole_batchs_none(sandbox_env):
    # httpx encodes its JSON as strict UTF-8: one "\ud800" (JSON allows it; a dataset's reference can hold
    # it) failed the whole POST, so every row of the batch scored None after a round of retries.
    odd = "<think>x</think>\n```python\nprint(5)  # \ud800\n```"
    assert code_reward([GOOD, odd, GOOD], [SUM, SUM, SUM]) == [1.0, 0.0, 1.0]
    assert failures.drain() == {}


SLEEPER = "<think>stall</think>\n```python\nimport time\ntime.sleep(60)\n```"
SUM_1S = json.dumps({"mode": "stdio", "timeout_s": 1, "tests": json.loads(SUM)["tests"]})


def test_programs_sleeping_to_the_limit_in_every_test_are_time_limits_not_the_batchs_none(
    sandbox_env, monkeypatch
):
    """Attack: programs that sleep to the time limit in every test made the batch outlast the client's
    fixed wait (900 s; here shrunk to 1 s so that three such programs on the session's two slots outlast
    it): every row of the batch, the honest one too, scored None and escaped the 0 a time limit earns.
    The wait now adds the batch's own worst case, so they score 0.0 and the honest row 1.0."""
    import verifiers.code as vc

    monkeypatch.setattr(vc, "_WAIT_S", 1.0)
    assert code_reward([SLEEPER] * 3 + [GOOD], [SUM_1S] * 4) == [0.0, 0.0, 0.0, 1.0]
    assert failures.drain() == {}


def test_control_a_server_that_never_answers_is_still_none_and_counted(tmp_path, monkeypatch):
    import socket
    import time

    import verifiers.code as vc

    hung = socket.socket(socket.AF_UNIX)  # accepts connections into its backlog, never answers
    hung.bind(str(tmp_path / "hung.sock"))
    hung.listen()
    monkeypatch.setattr(vc, "_WAIT_S", 0.5)
    monkeypatch.setattr(vc, "_RETRIES", 1)
    failures.drain()
    start = time.monotonic()
    try:
        assert code_reward([GOOD], [SUM_1S], sandbox_url=f"unix:{tmp_path / 'hung.sock'}") == [None]
    finally:
        hung.close()
    assert failures.drain() == {"code_reward": 1}
    assert time.monotonic() - start < 0.5 + 2 * (1 + vc._EXEC_OVERHEAD_S) + 2  # the batch's bound, then None
