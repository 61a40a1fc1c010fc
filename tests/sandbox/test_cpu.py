"""An execution gets one slot's share of the CPU, however it splits itself (family 9 of issue 14).

The attack fills its process limit with busy processes, each in a session of its own (so each would be
its own scheduling autogroup); meanwhile an honest CPU-bound program runs in the other slot. The limits
are generous for a loaded 2-core machine: starved, the honest program gets about 1/60 of a core and
needs minutes; isolated, it needs about a second.
"""

import time

HOG = (
    "import os\n"
    "for _ in range(60):\n"
    "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
    "    if pid == 0:\n        os.setsid()\n        while True:\n            pass\n"
    "while True:\n    pass\n"
)
# About 1 s of CPU on this machine's cores; the answer is checked, so it must really finish.
HONEST = "import time\ntime.sleep(1.5)\ns = 0\nfor i in range(4 * 10**6):\n    s += i * i\nprint(s)"
ANSWER = str(sum(i * i for i in range(4 * 10**6)))


def test_an_honest_program_keeps_its_verdict_while_another_slot_runs_a_session_hog(sbx):
    hog = {"code": HOG, "tests": [{"input": "", "output": ""}], "timeout_s": 12, "processes": 64}
    honest = {"code": HONEST, "tests": [{"input": "", "output": ANSWER}], "timeout_s": 10}
    t = time.monotonic()
    hog_result, honest_result = sbx.post("/judge_batch", json={"requests": [hog, honest]}).json()["results"]
    assert hog_result["verdicts"] == ["time_limit"]  # the load really ran, for its whole time
    assert time.monotonic() - t >= 11
    assert honest_result["verdicts"] == ["accepted"], honest_result


def test_control_the_honest_program_alone_is_accepted(judge):
    assert judge(HONEST, tests=[{"input": "", "output": ANSWER}], timeout_s=10)["verdicts"] == ["accepted"]
