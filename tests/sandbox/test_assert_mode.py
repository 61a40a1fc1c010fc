"""Assert mode (issue families 1 and 2): the program never holds the test, and check() sees the builtins.

The program runs in a process forked from one that never held the test (the test reaches only the
checker, through a descriptor the program never has), so neither its frames, nor its heap, nor the
remnants of earlier executions in the same slot can tell it what check() asserts.
"""

import secrets

# Looks for the test's literal in every place a forked program could: the frames above it, every
# object of its interpreter, and the raw bytes of its own memory. Returns what follows the needle.
FIND_THE_TEST = r"""
import gc, re, sys
NEEDLE = "candidate() == " + "'tok-"
PATTERN = re.compile(re.escape(NEEDLE.encode()) + rb"([0-9a-f]{16})'")

def _scan_text(text):
    if isinstance(text, bytes):
        m = PATTERN.search(text)
    else:
        m = PATTERN.search(text.encode("utf-8", "ignore")) if NEEDLE in text else None
    return m and "tok-" + m.group(1).decode()

def _find():
    f = sys._getframe()
    while f is not None:
        for value in list(f.f_locals.values()) + list(f.f_globals.values()):
            if isinstance(value, dict):
                for v in list(value.values()):
                    if isinstance(v, str) and (hit := _scan_text(v)):
                        return hit
        f = f.f_back
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            for v in list(obj.values()):
                if isinstance(v, str) and (hit := _scan_text(v)):
                    return hit
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            addrs, perms = line.split()[:2]
            if "r" not in perms:
                continue
            lo, hi = (int(x, 16) for x in addrs.split("-"))
            for at in range(lo, hi, 1 << 20):
                try:
                    mem.seek(at)
                    chunk = mem.read(min(1 << 20, hi - at) + 64)
                except (OSError, ValueError, OverflowError):
                    break
                if hit := _scan_text(chunk):
                    return hit
    return "not found"

FOUND = _find()

def f():
    return FOUND
"""


def _test(token: str) -> str:
    return f"def check(candidate):\n    assert candidate() == '{token}'\n"


def test_the_program_cannot_find_the_test_in_its_frames_heap_or_memory(judge):
    token = f"tok-{secrets.token_hex(8)}"
    for _ in range(3):  # later executions on the same slots cannot find remnants of earlier ones either
        r = judge(FIND_THE_TEST, mode="assert", test=_test(token), entry_point="f")
        assert r["reward"] == 0.0


def test_control_a_program_returning_the_answer_passes_and_the_search_itself_runs(judge):
    token = f"tok-{secrets.token_hex(8)}"
    assert (
        judge(f"def f():\n    return '{token}'", mode="assert", test=_test(token), entry_point="f")["reward"]
        == 1.0
    )
    # The search is sound: given the test text in its own memory it finds the token.
    planted = FIND_THE_TEST.replace("FOUND = _find()", f"PLANT = {_test(token)!r}\nFOUND = _find()")
    r = judge(planted, mode="assert", test=_test(token), entry_point="f")
    assert r["reward"] == 1.0


SHADOWING = (
    "def f(x):\n    return 0\n"
    "def abs(x):\n    return 0\n"
    "def all(it):\n    return True\n"
    "def isinstance(*a):\n    return True\n"
    "range = lambda *a: []\n"
    "set = lambda *a: {2}\n"
)
# Each check fails for f(x) = 0 with the real builtins and passes with the program's replacements.
SHADOWED_CHECKS = [
    "    assert abs(candidate(2) - 4) < 1e-9\n",
    "    assert all(candidate(i) == 2 * i for i in (1, 2, 3))\n",
    "    for i in range(1, 3):\n        assert candidate(i) == 2 * i\n",
    "    assert isinstance(candidate(1), str)\n",
    "    assert set([candidate(1)]) == {2}\n",
]


def test_names_the_program_defines_do_not_replace_builtins_in_check(judge):
    for body in SHADOWED_CHECKS:
        test = "def check(candidate):\n" + body
        assert judge(SHADOWING, mode="assert", test=test, entry_point="f")["reward"] == 0.0, body


def test_control_honest_program_with_its_own_helpers_and_builtin_named_names_passes(judge):
    # HumanEval-style: the test calls a helper the program defines (encode_cyclic, poly, ...); the
    # program's own `abs`, `range`, ... do not disturb check(), which uses the builtins.
    honest = (
        SHADOWING.replace("return 0\ndef abs", "return 2 * x\ndef abs") + "def helper(x):\n    return x + 1\n"
    )
    checks = [c for c in SHADOWED_CHECKS if "isinstance" not in c]
    test = "def check(candidate):\n" + "".join(checks) + "    assert helper(candidate(1)) == 3\n"
    assert judge(honest, mode="assert", test=test, entry_point="f")["reward"] == 1.0
