"""numpy's own arrays and scalars are judged by their natural value; nothing else passes for one.

A function returning `numpy.int64(6)` or an array returned the right answer: its JSON form is the value
(`tolist()`). Only numpy's real types get it, through numpy's own C method: a class that calls itself
numpy, a subclass of `ndarray`, or a lying `tolist`/`__eq__` still has no JSON form (wrong).
"""

import pytest

pytest.importorskip("numpy")  # the server runs programs with this interpreter: numpy is importable there


def _function(judge, code: str, output) -> str:
    tests = [{"input": [], "output": output}]
    (verdict,) = judge("import numpy as np\n" + code, mode="function", fn_name="f", tests=tests)["verdicts"]
    return verdict


@pytest.mark.parametrize(
    ("code", "output"),
    [
        ("def f():\n    return np.int64(6)", 6),
        ("def f():\n    return np.array([3, 1, 2]).sum()", 6),
        ("def f():\n    return np.float64(1.5)", 1.5),
        ("def f():\n    return np.bool_(True)", True),
        ("def f():\n    return np.array([[1, 2], [3, 4]])", [[1, 2], [3, 4]]),
        ("def f():\n    return np.array([0.5, 2.0], dtype=np.float32)", [0.5, 2]),
        ("def f():\n    return sorted(np.array([3, 1, 2]))", [1, 2, 3]),  # a list of int64
        ("def f():\n    return {'n': np.int32(2), 'ok': np.bool_(False)}", {"n": 2, "ok": False}),
        ("def f():\n    return (np.uint8(255), np.str_('a'))", [255, "a"]),
        ("def f():\n    return np.array(7)", 7),  # a 0-d array is its scalar
    ],
)
def test_control_numpy_values_are_judged_by_their_value(judge, code, output):
    assert _function(judge, code, output) == "accepted"


def test_control_a_numpy_value_that_is_wrong_is_wrong(judge):
    assert _function(judge, "def f():\n    return np.int64(5)", 6) == "wrong_answer"
    assert _function(judge, "def f():\n    return np.array([1, 2])", [1, 2, 3]) == "wrong_answer"


def test_a_numpy_boolean_is_a_boolean_not_a_number(judge):
    assert _function(judge, "def f():\n    return np.bool_(True)", 1) == "wrong_answer"
    assert _function(judge, "def f():\n    return np.array([True, False])", [1, 0]) == "wrong_answer"
    assert _function(judge, "def f():\n    return np.int64(1)", True) == "wrong_answer"


def test_a_set_inside_a_numpy_array_still_has_no_json_form(judge):
    assert (
        _function(judge, "def f():\n    return np.array([{1, 2}], dtype=object)", [[1, 2]]) == "wrong_answer"
    )


FAKES = {
    "a class named like numpy's": (
        "class ndarray:\n    __module__ = 'numpy'\n    def tolist(self):\n        return [1, 2]\n"
        "ndarray.__qualname__ = 'ndarray'\n"
        "def f():\n    return ndarray()"
    ),
    "a metaclass faking what the class is": (
        "class Meta(type):\n    __flags__ = property(lambda cls: 0)\n"
        "    __module__ = property(lambda cls: 'numpy')\n    __mro__ = property(lambda cls: (np.ndarray,))\n"
        "class Fake(metaclass=Meta):\n    def tolist(self):\n        return [1, 2]\n"
        "def f():\n    return Fake()"
    ),
    "an ndarray subclass whose tolist lies": (
        "class Lying(np.ndarray):\n    def tolist(self):\n        return [1, 2]\n"
        "def f():\n    return np.array([9, 9]).view(Lying)"
    ),
    "an ndarray subclass whose __eq__ says yes": (
        "class Yes(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
        "def f():\n    return np.array([1, 2]).view(Yes)"
    ),
    "numpy's module patched to name a fake": (
        "class Fake(list):\n    pass\nnp.ndarray = Fake\nimport sys\nsys.modules['numpy'].ndarray = Fake\n"
        "class Thing:\n    __module__ = 'numpy'\n    def tolist(self):\n        return [1, 2]\n"
        "def f():\n    return Thing()"
    ),
    "an object with item() and tolist() and no numpy": (
        "class Scalar:\n    def item(self):\n        return [1, 2]\n    tolist = item\n"
        "    __array_interface__ = {'shape': (2,), 'typestr': '<i8', 'data': (0, False), 'version': 3}\n"
        "def f():\n    return Scalar()"
    ),
}


@pytest.mark.parametrize("name", list(FAKES))
def test_attack_only_numpys_own_types_get_a_json_form(judge, name):
    """Attack: an object faking numpy's interface must not have its `tolist` trusted as its value."""
    assert _function(judge, FAKES[name], [1, 2]) == "wrong_answer", name


def test_control_an_assert_mode_check_sees_a_numpy_scalar_as_its_value(judge):
    test = "def check(candidate):\n    assert candidate([1, 2, 3]) == 6\n    assert candidate([]) == 0\n"
    code = "import numpy as np\ndef total(xs):\n    return np.array(xs, dtype=np.int64).sum()"
    assert judge(code, mode="assert", test=test, entry_point="total")["verdicts"] == ["accepted"]


def test_attack_a_fake_numpy_value_cannot_cross_to_the_check(judge):
    test = "def check(candidate):\n    assert candidate([1, 2, 3]) == 6\n"
    code = (
        "class int64:\n    __module__ = 'numpy'\n    def tolist(self):\n        return 6\n"
        "    def __eq__(self, other):\n        return True\n"
        "def total(xs):\n    return int64()"
    )
    assert judge(code, mode="assert", test=test, entry_point="total")["verdicts"] == ["runtime_error"]


def test_numpy_starts_no_thread_per_core_in_a_judged_program(judge):
    """OpenBLAS starts a thread per core on import; the 64-process limit counts threads, so on a many-core
    node an honest numpy program would fail to import it (or take its memory limit in thread stacks)."""
    code = (
        "import numpy as np\n"
        "np.ones((64, 64)) @ np.ones((64, 64))\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('Threads:')][0])\n"
    )
    (verdict,) = judge(code, tests=[{"input": "", "output": "1"}])["verdicts"]
    assert verdict == "accepted"


def test_attack_the_environment_lent_to_programs_is_read_only(judge):
    """The server's environment (where numpy comes from) is visible to programs, also when it lives under
    /tmp (bound back into each fresh scratch): a program can read it, never change it for the next one."""
    import sys

    code = (
        "import os, numpy\n"
        f"for d in ({sys.prefix!r}, os.path.dirname(numpy.__file__)):\n"
        "    try:\n"
        "        open(os.path.join(d, 'planted.py'), 'w').write('x = 1')\n"
        "        print('wrote', d)\n"
        "    except OSError:\n"
        "        print('refused')\n"
    )
    (verdict,) = judge(code, tests=[{"input": "", "output": "refused\nrefused"}])["verdicts"]
    assert verdict == "accepted"
