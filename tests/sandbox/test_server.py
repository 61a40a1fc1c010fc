"""The HTTP API of a real `python -m sandbox serve`: modes, verdicts, batches, limits."""

STDIO_SUM = "a, b = map(int, input().split())\nprint(a + b)"
TWO_TESTS = [{"input": "2 3\n", "output": "5\n"}, {"input": "10 -4\n", "output": "6\n"}]


def test_health_reports_ok_and_the_isolation_in_force(sbx):
    body = sbx.get("/health").json()
    assert body["status"] == "ok" and body["workers"] == 2 and body["isolation"]


def test_stdio_correct_program_is_accepted_on_every_test(judge):
    r = judge(STDIO_SUM, tests=TWO_TESTS)
    assert r == {
        "passed": 2,
        "total": 2,
        "verdicts": ["accepted", "accepted"],
        "reward": 1.0,
        "error": None,
        "details": None,
    }


def test_stdio_partial_output_is_wrong_answer(judge):
    r = judge("print(1)", tests=[{"input": "", "output": "1\n2\n"}])
    assert r["verdicts"] == ["wrong_answer"]


def test_stdio_nonzero_exit_is_runtime_error_even_with_right_output(judge):
    assert judge("import sys\nprint(5)\nsys.exit(3)", tests=[{"input": "", "output": "5"}])["verdicts"] == [
        "runtime_error"
    ]


def test_stdio_syntax_error_is_compile_error(judge):
    assert judge("def f(:\n  pass")["verdicts"] == ["compile_error"]


def test_stdio_main_guard_runs(judge):
    code = "def main():\n    print(input()[::-1])\nif __name__ == '__main__':\n    main()"
    assert judge(code, tests=[{"input": "abc\n", "output": "cba\n"}])["reward"] == 1.0


def test_output_of_a_worker_thread_counts_like_at_interpreter_exit(judge):
    code = (
        "import sys, threading\nsys.setrecursionlimit(10**6)\nthreading.stack_size(2**26)\n"
        "def main():\n    print(input())\nthreading.Thread(target=main).start()"
    )
    assert judge(code, tests=[{"input": "hi\n", "output": "hi\n"}])["verdicts"] == ["accepted"]


def test_deep_recursion_works_with_a_raised_limit(judge):
    code = "import sys\nsys.setrecursionlimit(10**6)\ndef f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\nprint(f(50000))"
    assert judge(code, tests=[{"input": "", "output": "50000"}])["verdicts"] == ["accepted"]


def test_one_slow_test_fails_that_test_only(judge):
    code = "import time\nn = int(input())\nif n == 2:\n    time.sleep(30)\nprint(n)"
    tests = [{"input": f"{i}\n", "output": f"{i}\n"} for i in (1, 2, 3)]
    r = judge(code, tests=tests, timeout_s=1)
    assert r["verdicts"] == ["accepted", "time_limit", "accepted"] and r["reward"] == 2 / 3


def test_stop_on_first_failure_stops_but_counts_every_test(judge):
    r = judge(
        "print(1)",
        tests=[{"input": "", "output": "1"}, {"input": "", "output": "2"}, {"input": "", "output": "1"}],
        stop_on_first_failure=True,
    )
    assert r["verdicts"] == ["accepted", "wrong_answer"] and r["total"] == 3 and r["passed"] == 1


def test_function_mode_compares_json_forms(judge):
    code = "def f(a, b):\n    return (a + b, a * 1.0)"
    tests = [{"input": [1, 2], "output": [3, 1]}, {"input": [2, 2], "output": [5, 2]}]
    assert judge(code, mode="function", fn_name="f", tests=tests)["verdicts"] == ["accepted", "wrong_answer"]


def test_function_mode_finds_a_method_of_class_solution(judge):
    code = "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]"
    r = judge(code, mode="function", fn_name="twoSum", tests=[{"input": [[2, 7], 9], "output": [0, 1]}])
    assert r["reward"] == 1.0


def test_function_mode_result_without_json_form_is_wrong(judge):
    r = judge(
        "def f():\n    return {1, 2}", mode="function", fn_name="f", tests=[{"input": [], "output": [1, 2]}]
    )
    assert r["verdicts"] == ["wrong_answer"]


def test_function_mode_missing_function_is_runtime_error(judge):
    r = judge("def g():\n    return 1", mode="function", fn_name="f", tests=[{"input": [], "output": 1}])
    assert r["verdicts"] == ["runtime_error"]


def test_assert_mode_passes_when_check_returns(judge):
    test = "def check(candidate):\n    assert candidate(2, 3) == 5\n"
    assert (
        judge("def add(a, b):\n    return a + b", mode="assert", test=test, entry_point="add")["reward"]
        == 1.0
    )
    r = judge("def add(a, b):\n    return a - b", mode="assert", test=test, entry_point="add")
    assert r == {
        "passed": 0,
        "total": 1,
        "verdicts": ["runtime_error"],
        "reward": 0.0,
        "error": None,
        "details": None,
    }


def test_batch_returns_results_in_request_order(sbx):
    reqs = [
        {"code": f"print({i})", "mode": "stdio", "tests": [{"input": "", "output": f"{i}\n"}]}
        for i in range(20)
    ]
    reqs[7]["tests"][0]["output"] = "wrong"
    results = sbx.post("/judge_batch", json={"requests": reqs}).json()["results"]
    assert [r["reward"] for r in results] == [0.0 if i == 7 else 1.0 for i in range(20)]


def test_malformed_request_in_a_batch_is_a_sandbox_error_for_that_item_only(sbx):
    reqs = [
        {"code": "print(1)", "mode": "function", "tests": [{"input": [], "output": 1}]},
        {"code": "print(1)", "tests": [{"input": "", "output": "1"}]},
    ]
    a, b = sbx.post("/judge_batch", json={"requests": reqs}).json()["results"]
    assert a["verdicts"] == ["sandbox_error"] and "fn_name" in a["error"]
    assert b["verdicts"] == ["accepted"]


def test_malformed_judge_body_is_422_naming_the_field(sbx):
    r = sbx.post("/judge", json={"code": "print(1)", "mode": "assert"})
    assert r.status_code == 422 and "entry_point" in r.text


def test_run_code_is_sandboxfusion_compatible(sbx):
    r = sbx.post("/run_code", json={"code": "print(input())", "stdin": "hi", "language": "python"}).json()
    assert (
        r["status"] == "Success"
        and r["run_result"]["stdout"] == "hi\n"
        and r["run_result"]["return_code"] == 0
    )
    r = sbx.post("/run_code", json={"code": "while True: pass", "run_timeout": 1}).json()
    assert r["run_result"]["status"] == "TimeLimitExceeded"


def test_a_full_queue_answers_429_and_keeps_serving():
    from sandbox import client, local_server

    body = {"code": "print(1)", "tests": [{"input": "", "output": "1"}]}
    with local_server(workers=1, queue=2, unix_socket=False) as url, client(url) as c:
        assert url.startswith("http://127.0.0.1:")
        r = c.post("/judge_batch", json={"requests": [body] * 3})
        assert r.status_code == 429 and "queue full" in r.text
        assert c.post("/judge_batch", json={"requests": [body] * 2}).status_code == 200


def test_every_command_has_a_help_that_fits_a_screen():
    import subprocess
    import sys

    for args in ([], ["serve"], ["up"], ["down"]):
        out = subprocess.run(
            [sys.executable, "-m", "sandbox", *args, "--help"], capture_output=True, text=True, check=True
        )
        assert 3 < len(out.stdout.splitlines()) <= 30


def _cmdlines() -> dict[int, str]:
    import os

    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out[int(pid)] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return out


def _slot_pids(url: str) -> list[int]:
    from pathlib import Path

    cmds = _cmdlines()
    (server,) = [pid for pid, cmd in cmds.items() if url[5:] in cmd and "serve" in cmd]
    return [
        pid
        for pid, cmd in cmds.items()
        if "sandbox.worker" in cmd and f"PPid:\t{server}\n" in Path(f"/proc/{pid}/status").read_text()
    ]


def test_a_dead_slot_shows_in_health_and_is_replaced_before_it_serves():
    import os
    import signal
    import time

    from sandbox import client, local_server

    body = {"code": "print(1)", "tests": [{"input": "", "output": "1"}]}
    with local_server(workers=1) as url, client(url) as c:
        assert c.post("/judge", json=body).json()["verdicts"] == ["accepted"]
        (slot,) = _slot_pids(url)
        os.kill(slot, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (h := c.get("/health")).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert h.status_code == 503 and h.json()["not_serving"] == [0] and h.json()["status"] == "down", (
            h.text
        )
        r = c.post("/judge", json=body).json()
        assert r["verdicts"] == ["accepted"], r
        h = c.get("/health")
        assert h.status_code == 200 and h.json()["serving"] == 1 and h.json()["status"] == "ok", h.text


def test_a_slot_that_dies_during_an_execution_is_a_sandbox_error_then_restarted():
    import os
    import signal
    import threading
    import time

    from sandbox import client, local_server

    body = {"code": "print(1)", "tests": [{"input": "", "output": "1"}]}
    slow = {"code": "import time\ntime.sleep(30)", "tests": [{"input": "", "output": ""}], "timeout_s": 60}
    with local_server(workers=1) as url, client(url) as c:
        (slot,) = _slot_pids(url)
        threading.Timer(1.0, os.kill, (slot, signal.SIGKILL)).start()
        t = time.monotonic()
        assert c.post("/judge", json=slow).json()["verdicts"] == ["sandbox_error"]
        assert time.monotonic() - t < 20
        assert c.post("/judge", json=body).json()["verdicts"] == ["accepted"]
