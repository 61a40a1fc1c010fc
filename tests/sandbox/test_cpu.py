"""An execution gets one slot's share of the CPU, however it splits itself (family 9 of issue 14).

The attack starts 150 busy processes, each in a session of its own (so each would be its own scheduling
autogroup); meanwhile an honest CPU-bound program (about 0.35 s of CPU) runs in the other slot. The
limits are generous for a loaded 2-core machine: isolated, the honest slot competes as one group with
the hog's one group and whatever else runs (measured: 3 s with the 2 s sleep, at load 45, against 2.5 s
alone); starved, it gets one share in more than 150 and cannot finish before the hog ends at 14 s.
"""

import time

HOG = (
    "import os\n"
    "for _ in range(150):\n"
    "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
    "    if pid == 0:\n        os.setsid()\n        while True:\n            pass\n"
    "while True:\n    pass\n"
)
# Waits for the hog to spin up, then about 0.35 s of CPU; the answer is checked, so it must really finish.
HONEST = "import time\ntime.sleep(2)\ns = 0\nfor i in range(40 * 10**5):\n    s += i * i\nprint(s)"
ANSWER = str(sum(i * i for i in range(40 * 10**5)))


def test_an_honest_program_keeps_its_verdict_while_another_slot_runs_a_session_hog(sbx):
    hog = {"code": HOG, "tests": [{"input": "", "output": ""}], "timeout_s": 14, "processes": 160}
    honest = {"code": HONEST, "tests": [{"input": "", "output": ANSWER}], "timeout_s": 9}
    t = time.monotonic()
    hog_result, honest_result = sbx.post("/judge_batch", json={"requests": [hog, honest]}).json()["results"]
    assert hog_result["verdicts"] == ["time_limit"]  # the load really ran, for its whole time
    assert time.monotonic() - t >= 13
    assert honest_result["verdicts"] == ["accepted"], honest_result


def test_control_the_honest_program_alone_is_accepted(judge):
    assert judge(HONEST, tests=[{"input": "", "output": ANSWER}], timeout_s=9)["verdicts"] == ["accepted"]
