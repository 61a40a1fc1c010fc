"""What a program prints or returns is judged as its own answer (families 3, 6 and 10 of issue 14).

Integers compare exactly, however the answer is written; nothing a program can make of its output,
result or exit status turns into `sandbox_error` (reward None: no gradient, a way to dodge a 0).
"""

BIG = "1000000000000000001"


def _stdio(judge, code: str, output: str, **body) -> str:
    (verdict,) = judge(code, tests=[{"input": "", "output": output}], **body)["verdicts"]
    return verdict


def _function(judge, code: str, output, **body) -> str:
    (verdict,) = judge(code, mode="function", fn_name="f", tests=[{"input": [], "output": output}], **body)[
        "verdicts"
    ]
    return verdict


def test_a_wrong_integer_written_as_a_float_is_wrong(judge):
    for printed in ("1e18", "1000000000000000000.0", "1.000000000000000001e18x", "1.0e18"):
        assert _stdio(judge, f"print({printed!r})", BIG) == "wrong_answer", printed
    assert _stdio(judge, "print('3.0000001')", "3") == "wrong_answer"
    assert _function(judge, f"def f():\n    return float({BIG})", int(BIG)) == "wrong_answer"


def test_control_the_right_integer_in_any_notation_and_close_reals_are_accepted(judge):
    for printed in (BIG, BIG + ".0", "+" + BIG, BIG + ".000"):
        assert _stdio(judge, f"print({printed!r})", BIG) == "accepted", printed
    assert _stdio(judge, "print('5e0')", "5") == "accepted"
    assert _stdio(judge, "print(0.1 + 0.2)", "0.3") == "accepted"
    assert _function(judge, "def f():\n    return 8.0", 8) == "accepted"
    assert _function(judge, "def f():\n    return 0.1 + 0.2", 0.3) == "accepted"


def test_reserved_exit_statuses_are_the_programs_runtime_error(judge):
    for code in ("import os\nos._exit(121)", "import sys\nsys.exit(121)", "import os\nos._exit(1)"):
        assert _stdio(judge, code, "") == "runtime_error", code


def test_control_a_clean_exit_is_accepted(judge):
    assert _stdio(judge, "import sys\nprint(1)\nsys.exit(0)", "1") == "accepted"


def test_huge_numbers_are_judged_not_crashed_on(judge):
    assert _stdio(judge, "print('9' * 100000)", "1") == "wrong_answer"
    assert _stdio(judge, "print('9' * 100000)", "2.5") == "wrong_answer"
    assert _stdio(judge, "print('1e999999999')", "1") == "wrong_answer"
    assert _function(judge, "def f():\n    return 10 ** 400", 1.5) == "wrong_answer"
    assert _function(judge, "def f():\n    return 1e308 * 10", 1.5) == "wrong_answer"


def test_control_huge_right_answers_are_accepted(judge):
    n = "9" * 100000
    assert _stdio(judge, "print('9' * 100000)", n) == "accepted"
    assert _function(judge, "def f():\n    return 10 ** 400", 10**400) == "accepted"


PATCHED_ENCODER = (
    "import json.encoder\n"
    "json.encoder.c_make_encoder = None\n"
    "json.encoder.JSONEncoder.iterencode = lambda self, o, _one_shot=False: iter(['[' * 200000 + ']' * 200000])\n"
    "def f():\n    return 1\n"
)


def test_a_patched_json_encoder_is_the_programs_failure(judge):
    assert _function(judge, PATCHED_ENCODER, 1) in ("runtime_error", "wrong_answer")
    nested = "def f():\n    x = []\n    for _ in range(10000):\n        x = [x]\n    return x"
    assert _function(judge, nested, 1) == "wrong_answer"


def test_every_execution_process_is_the_oom_killers_first_choice(judge):
    code = (
        "import os\nprint(open('/proc/self/oom_score_adj').read().strip(), flush=True)\n"
        "if os.fork() == 0:\n    print(open('/proc/self/oom_score_adj').read().strip(), flush=True)\n    os._exit(0)\n"
        "os.wait()"
    )
    assert _stdio(judge, code, "1000\n1000") == "accepted"


def test_a_function_result_as_large_as_stdout_allows_is_judged(judge):
    value = "x" * (3 * 2**20)  # 3 MiB: over the old 1 MiB status cap, under the 16 MiB stdout limit
    assert _function(judge, "def f():\n    return 'x' * (3 * 2**20)", value) == "accepted"
    assert _function(judge, "def f():\n    return 'x' * (3 * 2**20)", value[:-1]) == "wrong_answer"


def test_control_a_function_result_over_the_output_limit_is_output_limit(judge):
    assert _function(judge, "def f():\n    return 'x' * (3 * 2**20)", "x", output_mb=1) == "output_limit"


# Socket buffers are kernel memory: 17 processes each fill sockets up to their descriptor limit
# (about 50 MiB apiece), far past the execution's memory. The kernel must take the program, never the
# worker: its verdict is the program's own, and the slot serves the next execution.
KERNEL_MEMORY_HOG = r"""
import os, socket, time
def fill():
    held = []
    try:
        while True:
            a, b = socket.socketpair()
            a.setblocking(False)
            try:
                while True:
                    a.send(b"y" * 65536)
            except BlockingIOError:
                pass
            held.append((a, b))
    except OSError:
        return held
for _ in range(16):
    if os.fork() == 0:
        held = fill()
        time.sleep(30)
        os._exit(0)
held = fill()
time.sleep(30)
"""


def test_kernel_memory_exhaustion_is_the_programs_verdict_and_the_slot_serves_on(judge, sbx):
    health = sbx.get("/health").json()
    verdict = _stdio(judge, KERNEL_MEMORY_HOG, "x", memory_mb=64, timeout_s=5)
    # with a cgroup the kernel's own accounting stops it; without one, only its rlimits and the clock do
    assert verdict == ("memory_limit" if "cgroup" in health["isolation"] else "time_limit")
    assert _stdio(judge, "print(2 + 2)", "4") == "accepted"
    after = sbx.get("/health").json()
    assert after["serving"] == health["serving"] and not after["not_serving"], after


def test_control_a_program_that_rewraps_its_standard_streams_is_judged_on_what_it_prints(judge):
    # `sys.stdout = io.TextIOWrapper(sys.stdout.buffer, ...)` dropped the last reference to the old wrapper,
    # which closed the buffer under the new one: runtime_error for an honest program.
    code = (
        "import io, sys\n"
        "sys.stdin = io.TextIOWrapper(sys.stdin.buffer, encoding='utf-8')\n"
        "sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding='utf-8')\n"
        "print(int(input()) * 2)\n"
    )
    assert judge(code, tests=[{"input": "21\n", "output": "42\n"}])["verdicts"] == ["accepted"]


# The fast-IO template of PyRival, common in contest Python: it reads `file.mode` of the standard streams.
FAST_IO = """
import os, sys
from io import BytesIO, IOBase
class FastIO(IOBase):
    newlines = 0
    def __init__(self, file):
        self._fd = file.fileno()
        self.buffer = BytesIO()
        self.writable = "x" in file.mode or "r" not in file.mode
        self.write = self.buffer.write if self.writable else None
    def readline(self):
        while self.newlines == 0:
            b = os.read(self._fd, max(os.fstat(self._fd).st_size, 8192))
            self.newlines = b.count(b"\\n") + (not b)
            ptr = self.buffer.tell()
            self.buffer.seek(0, 2), self.buffer.write(b), self.buffer.seek(ptr)
        self.newlines -= 1
        return self.buffer.readline()
    def flush(self):
        if self.writable:
            os.write(self._fd, self.buffer.getvalue())
            self.buffer.truncate(0), self.buffer.seek(0)
class IOWrapper(IOBase):
    def __init__(self, file):
        self.buffer = FastIO(file)
        self.flush = self.buffer.flush
        self.writable = self.buffer.writable
        self.write = lambda s: self.buffer.write(s.encode("ascii"))
        self.readline = lambda: self.buffer.readline().decode("ascii")
sys.stdin, sys.stdout = IOWrapper(sys.stdin), IOWrapper(sys.stdout)
input = lambda: sys.stdin.readline().rstrip("\\r\\n")
n = int(input())
print(sum(map(int, input().split())))
"""


def test_control_the_pyrival_fast_io_template_is_judged_on_what_it_prints(judge):
    # A bare TextIOWrapper has no `mode`: the template was a runtime_error for every honest program.
    tests = [{"input": "3\n1 2 3\n", "output": "6\n"}]
    assert judge(FAST_IO, tests=tests)["verdicts"] == ["accepted"]
    assert judge(FAST_IO.replace("sum(", "max("), tests=tests)["verdicts"] == ["wrong_answer"]
