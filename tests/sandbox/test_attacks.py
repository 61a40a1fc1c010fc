"""Hostile programs: each is contained with the right verdict, and the server keeps serving after it."""

import os
import socket
import time

import pytest

_SLOT_UIDS: set[int] = set()


@pytest.fixture(autouse=True)
def slot_uids(sbx) -> set[int]:
    """The uids this server's slots and checkers run as (other servers on the machine use others)."""
    health = sbx.get("/health").json()
    base, n = health["uid_base"], health["workers"]
    _SLOT_UIDS.clear()
    if base is not None:
        _SLOT_UIDS.update([*range(base, base + n), *range(base + 500, base + 500 + n)])
    return _SLOT_UIDS


def _sandbox_processes() -> list[int]:
    """Host pids owned by one of this server's slot uids (anything an execution left running)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if uid in _SLOT_UIDS:
            pids.append(int(pid))
    return pids


@pytest.fixture
def isolated(sbx):
    """Skip where the server could not build namespaces (not root): only rlimits and seccomp apply there."""
    if not sbx.get("/health").json()["isolation"].startswith("namespaces"):
        pytest.skip("server runs without namespaces here (not root): host files are visible")


@pytest.fixture(autouse=True)
def still_serving(judge, slot_uids):
    """After every attack: nothing of it is left running, and an honest program is still accepted."""
    yield
    deadline = time.monotonic() + 5
    while _sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    if os.geteuid() == 0:
        assert _sandbox_processes() == [], "an execution left processes behind"
    assert judge("print(input())", tests=[{"input": "ok\n", "output": "ok\n"}])["verdicts"] == ["accepted"]


def test_infinite_loop_is_time_limit(judge):
    assert judge("while True:\n    pass", timeout_s=1)["verdicts"] == ["time_limit"]


def test_sleeping_forever_is_time_limit(judge):
    assert judge("import time\ntime.sleep(1000)", timeout_s=1)["verdicts"] == ["time_limit"]


def test_fork_bomb_is_contained(judge):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    assert judge(code, timeout_s=2)["verdicts"] == ["time_limit"]


def test_memory_bomb_is_memory_limit(judge):
    assert judge("x = bytearray(8 * 2**30)", memory_mb=256)["verdicts"] == ["memory_limit"]
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(2**24))"
    assert judge(code, memory_mb=256)["verdicts"] == ["memory_limit"]


def test_memory_spread_over_many_processes_is_memory_limit(judge, sbx):
    if "cgroup" not in sbx.get("/health").json()["isolation"]:
        pytest.skip("no memory cgroup here: only per-process limits apply")
    code = (
        "import os, time\nfor _ in range(8):\n    if os.fork() == 0:\n        x = b'x' * (150 * 2**20)\n"
        "        time.sleep(10)\n        os._exit(0)\ntime.sleep(10)"
    )
    assert judge(code, memory_mb=256, timeout_s=4)["verdicts"] == ["memory_limit"]


def test_output_flood_is_output_limit(judge):
    assert judge("while True:\n    print('x' * 100000)", output_mb=1)["verdicts"] == ["output_limit"]


def test_stderr_flood_never_decides_the_verdict(judge):
    code = "import sys\nfor _ in range(2000):\n    sys.stderr.write('e' * 10000)\nprint(1)"
    assert judge(code, tests=[{"input": "", "output": "1"}])["verdicts"] == ["accepted"]


def test_disk_fill_is_stopped_by_the_file_size_limit(judge):
    code = "with open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * 2**20)"
    assert judge(code, disk_mb=8)["verdicts"] == ["runtime_error"]
    assert not os.path.exists("/tmp/run/big")


def test_network_is_unreachable_even_to_loopback(judge):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    code = (
        "import socket\ntry:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('CONNECTED')\n"
        "except OSError:\n    print('NO_NET')"
    )
    try:
        assert judge(code, tests=[{"input": "", "output": "NO_NET"}])["verdicts"] == ["accepted"]
    finally:
        listener.close()


def test_host_files_are_hidden_and_the_system_is_read_only(judge, isolated):
    secret = os.path.abspath(__file__)  # the repository is not visible to programs
    code = (
        "import os\n"
        f"print(os.path.exists({secret!r}))\n"
        "for path in ('/etc/passwd-x', '/usr/evil', '/root/evil'):\n"
        "    try:\n        open(path, 'w')\n        print('WROTE', path)\n"
        "    except OSError:\n        print('denied')\n"
        "print(sorted(os.listdir('.')))"
    )
    r = judge(code, tests=[{"input": "", "output": "False\ndenied\ndenied\ndenied\n[]\n"}])
    assert r["verdicts"] == ["accepted"]


def test_killing_the_parent_or_everyone_is_refused(judge):
    code = (
        "import os, signal\n"
        "for target in (os.getppid(), 1, -1):\n"
        "    try:\n        os.kill(target, signal.SIGKILL)\n    except OSError:\n        pass\n"
        "print('alive')"
    )
    assert judge(code, tests=[{"input": "", "output": "alive"}])["verdicts"] == ["accepted"]


def test_leftover_daemon_is_killed_with_its_execution(judge):
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(1000)\n    os._exit(0)\n"
        "print('parent done')"
    )
    assert judge(code, tests=[{"input": "", "output": "parent done"}])["verdicts"] == ["accepted"]
    assert _sandbox_processes() == [] or os.geteuid() != 0


def test_a_daemon_cannot_tamper_with_the_next_execution(judge):
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    time.sleep(0.5)\n"
        "    open('/tmp/run/planted', 'w').write('x')\n    os._exit(0)\n"
    )
    judge(code)
    time.sleep(0.7)
    assert judge("import os\nprint(os.listdir('.'))", tests=[{"input": "", "output": "[]"}])["verdicts"] == [
        "accepted"
    ]


def test_exit_early_cannot_pass_assert_mode(judge):
    test = "def check(candidate):\n    assert candidate(2) == 4\n"
    for code in (
        "import os\nos._exit(0)\ndef f(x):\n    return 0",
        "import sys\ndef f(x):\n    sys.exit(0)",
        "import os\ndef f(x):\n    os._exit(0)",
    ):
        assert judge(code, mode="assert", test=test, entry_point="f")["reward"] == 0.0


def test_forged_status_message_cannot_pass(judge):
    test = "def check(candidate):\n    assert candidate(2) == 4\n"
    code = 'import os\nos.write(3, b\'{"kind": "ok"}\\n\')\nos._exit(0)\ndef f(x):\n    return 0'
    assert judge(code, mode="assert", test=test, entry_point="f")["reward"] == 0.0


def test_walking_the_runner_frames_cannot_forge_a_pass(judge):
    test = "def check(candidate):\n    assert candidate(2) == 4\n"
    code = (
        "import gc, os, sys\n"
        "frame = sys._getframe()\n"
        "while frame is not None:\n"
        "    for fn in list(frame.f_locals.values()):\n"
        "        if callable(fn) and getattr(fn, '__name__', '') == 'report':\n"
        "            fn('ok')\n"
        "    frame = frame.f_back\n"
        "for obj in gc.get_objects():\n"
        "    if isinstance(obj, dict) and 'nonce' in obj:\n"
        '        os.write(3, (\'{"nonce": "%s", "kind": "ok"}\\n\' % obj[\'nonce\']).encode())\n'
        "os._exit(0)\n"
        "def f(x):\n    return 0"
    )
    assert judge(code, mode="assert", test=test, entry_point="f")["reward"] == 0.0


def test_a_function_that_raises_is_reported_to_the_test_as_that_exception(judge):
    test = "def check(candidate):\n    try:\n        candidate(-1)\n    except ValueError:\n        return\n    raise AssertionError\n"
    code = "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x"
    assert judge(code, mode="assert", test=test, entry_point="f")["reward"] == 1.0


def test_lying_eq_cannot_pass_function_or_assert_mode(judge):
    liar = "class Liar(int):\n    def __eq__(self, o):\n        return True\n    __hash__ = int.__hash__\n"
    liar_obj = "class Any:\n    def __eq__(self, o):\n        return True\n"
    test = "def check(candidate):\n    assert candidate(2) == 4\n"
    assert (
        judge(liar + "def f(x):\n    return Liar(0)", mode="assert", test=test, entry_point="f")["reward"]
        == 0.0
    )
    assert (
        judge(liar_obj + "def f(x):\n    return Any()", mode="assert", test=test, entry_point="f")["reward"]
        == 0.0
    )
    r = judge(
        liar_obj + "def f(x):\n    return Any()",
        mode="function",
        fn_name="f",
        tests=[{"input": [2], "output": 4}],
    )
    assert r["verdicts"] == ["wrong_answer"]


def test_patched_builtins_do_not_reach_the_check(judge):
    test = "def check(candidate):\n    assert abs(candidate(2) - 4) < 1e-9\n    assert isinstance(candidate(2), int)\n"
    code = "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.isinstance = lambda *a: True\ndef f(x):\n    return 0"
    assert judge(code, mode="assert", test=test, entry_point="f")["reward"] == 0.0


def test_trace_function_cannot_skip_asserts(judge):
    test = "def check(candidate):\n    assert candidate(2) == 4\n"
    code = (
        "import sys\n"
        "def tracer(frame, event, arg):\n    if event == 'exception':\n        return None\n    return tracer\n"
        "sys.settrace(tracer)\n"
        "def f(x):\n    return 0"
    )
    assert judge(code, mode="assert", test=test, entry_point="f")["reward"] == 0.0


ALL_OF_MAP = "def check(candidate):\n    assert all(map(lambda x: candidate(x) == 2 * x, [1, 2, 3]))\n"


def test_a_stop_iteration_cannot_end_the_checks_iteration_early(judge):
    # Raised through the candidate inside map(), StopIteration ended the map and all([]) passed.
    code = "def f(x):\n    raise StopIteration\n"
    assert judge(code, mode="assert", test=ALL_OF_MAP, entry_point="f")["reward"] == 0.0


def test_control_the_same_check_passes_an_honest_program(judge):
    assert (
        judge("def f(x):\n    return 2 * x\n", mode="assert", test=ALL_OF_MAP, entry_point="f")["reward"]
        == 1.0
    )


UNPRINTABLE = "class E(Exception):\n    def __str__(self):\n        raise E()\n"


def test_an_exception_escaping_the_runner_is_a_runtime_error_not_the_workers_code_in_the_child(judge):
    # str(e) raising in the runner's handler let E climb out of the child's code into the worker loop it
    # was forked from, which ended the process through atexit: os._exit(0) there made the crash accepted.
    code = (
        "import atexit, os\nprint(5, flush=True)\natexit.register(os._exit, 0)\n"
        + UNPRINTABLE
        + "raise E()\n"
    )
    assert judge(code, tests=[{"input": "", "output": "5"}])["verdicts"] == ["runtime_error"]


def test_control_a_program_catching_its_own_unprintable_exception_is_accepted(judge):
    code = UNPRINTABLE + "try:\n    raise E()\nexcept E:\n    print(5)\n"
    assert judge(code, tests=[{"input": "", "output": "5"}])["verdicts"] == ["accepted"]
