"""Adapters from dataset formats to /judge bodies."""

import base64
import json
import pickle
import zlib

import pytest

from sandbox.formats import row_to_tests


def test_apps_stdio_row_becomes_stdio_tests():
    row = {"input_output": json.dumps({"inputs": ["1 2\n"], "outputs": ["3\n"]})}
    assert row_to_tests(row) == {"mode": "stdio", "tests": [{"input": "1 2\n", "output": "3\n"}]}


def test_apps_call_based_row_accepts_the_unwrapped_answer_too():
    row = {"input_output": json.dumps({"fn_name": "f", "inputs": [[1, 2]], "outputs": [[3]]})}
    out = row_to_tests(row)
    assert out["mode"] == "function" and out["fn_name"] == "f"
    assert out["tests"][0] == {"input": [1, 2], "output": [3], "alt_outputs": [3]}


def test_code_contests_joins_public_private_and_generated():
    row = {
        "public_tests": {"input": ["1\n"], "output": ["1\n"]},
        "private_tests": {"input": ["2\n"], "output": ["2\n"]},
        "generated_tests": {"input": ["3\n"], "output": ["3\n"]},
    }
    assert [t["input"] for t in row_to_tests(row)["tests"]] == ["1\n", "2\n", "3\n"]


def test_livecodebench_functional_and_compressed_private_cases():
    private = [{"input": "[1, 2]\n3", "output": "6", "testtype": "functional"}]
    packed = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(private)))).decode()
    row = {
        "public_test_cases": "[]",
        "private_test_cases": packed,
        "metadata": json.dumps({"func_name": "g"}),
    }
    assert row_to_tests(row) == {
        "mode": "function",
        "fn_name": "g",
        "tests": [{"input": [[1, 2], 3], "output": 6}],
    }


def test_livecodebench_compressed_cases_never_unpickle_objects():
    packed = base64.b64encode(zlib.compress(pickle.dumps(ValueError("x")))).decode()
    with pytest.raises(pickle.UnpicklingError):
        row_to_tests({"public_test_cases": packed})


def test_prime_intellect_function_call_cases():
    info = {"test_cases": [{"type": "function_call", "fn_name": "h", "input": [4], "output": [16]}]}
    out = row_to_tests({"verification_info": json.dumps(info)})
    assert (
        out["mode"] == "function"
        and out["tests"][0]["input"] == [4]
        and out["tests"][0]["alt_outputs"] == [16]
    )


def test_humaneval_and_mbpp_rows_become_assert_mode():
    assert row_to_tests({"test": "def check(c): pass", "entry_point": "f"})["mode"] == "assert"
    mbpp = row_to_tests({"test_list": ["assert add(1, 2) == 3"], "test_setup_code": ""})
    assert mbpp["entry_point"] == "add" and "add = candidate" in mbpp["test"]


def test_unknown_row_names_the_expected_columns():
    with pytest.raises(ValueError, match="input_output"):
        row_to_tests({"question": "?"})


def test_prime_intellect_verification_info_is_a_python_literal_and_never_evaluated():
    info = "{'language': 'python', 'test_cases': [{'type': 'stdin_stdout', 'input': \"It's\\n\", 'output': '1\\n'}]}"
    assert row_to_tests({"verification_info": info})["tests"] == [{"input": "It's\n", "output": "1\n"}]
    with pytest.raises(ValueError, match="neither JSON nor a Python literal"):
        row_to_tests({"verification_info": "__import__('os').system('touch /tmp/pwned')"})


def test_prime_intellect_function_call_strings_are_parsed_as_the_values_they_spell():
    info = {
        "test_cases": [{"type": "function_call", "fn_name": "f", "input": "[[1, 2], 'a']", "output": "[3]"}]
    }
    case = row_to_tests({"verification_info": repr(info)})["tests"][0]
    assert case["input"] == [[1, 2], "a"] and case["output"] == [3] and case["alt_outputs"] == [3]


def test_the_mbpp_entry_point_is_the_tested_function_not_a_builtin_wrapped_around_it():
    for assertion, name in [
        ("assert set(similar_elements((3, 4), (4, 5))) == set((4,))", "similar_elements"),
        ("assert math.isclose(area(2), 12.5, rel_tol=0.001)", "area"),
        ("assert round(mean([1, 2]), 2) == 1.5", "mean"),
        ("assert not is_not_prime(2)", "is_not_prime"),
    ]:
        mbpp = row_to_tests({"test_list": [assertion], "test_setup_code": "import math"})
        assert mbpp["entry_point"] == name and f"{name} = candidate" in mbpp["test"], assertion


def test_a_humaneval_test_carries_the_prompts_helpers_but_not_the_entry_stub():
    prompt = 'import math\n\n\ndef helper(x):\n    return x + 1\n\n\ndef f(x):\n    """Add two."""\n'
    test = row_to_tests({"prompt": prompt, "test": "def check(c): pass", "entry_point": "f"})["test"]
    assert "import math" in test and "def helper" in test and "def f" not in test
    assert row_to_tests({"prompt": "Write f.", "test": "def check(c): pass", "entry_point": "f"})["test"] == (
        "def check(c): pass"
    )
