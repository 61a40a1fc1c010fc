"""Output comparison rules (docs/http-api.md), judged outside the sandbox."""

from sandbox.judge import stdout_matches, values_match


def test_stdout_ignores_trailing_whitespace_and_trailing_blank_lines():
    assert stdout_matches("1 2\n3\n", "1 2   \n3\n\n\n")


def test_stdout_partial_output_is_wrong():
    assert not stdout_matches("1\n2\n3\n", "1\n2\n")


def test_stdout_extra_line_is_wrong():
    assert not stdout_matches("1\n", "1\n2\n")


def test_stdout_is_case_sensitive():
    assert not stdout_matches("YES\n", "yes\n")


def test_stdout_floats_match_within_relative_tolerance():
    assert stdout_matches("0.333333333\n", "0.3333333")
    assert not stdout_matches("0.3333\n", "0.3334\n")


def test_stdout_integers_are_exact_even_when_huge():
    assert not stdout_matches("1000000000000000000\n", "1000000000000000001\n")


def test_stdout_tolerance_only_when_both_tokens_are_numbers():
    assert not stdout_matches("nan\n", "0.0\n")
    assert not stdout_matches("1.0\n", "1.0x\n")


def test_stdout_compares_token_by_token():
    assert stdout_matches("1 2 3\n", "1  2\t3\n")
    assert not stdout_matches("1 2 3\n", "12 3\n")


def test_values_tuple_equals_list_and_int_equals_float():
    assert values_match([1, [2, 3]], [1.0, (2, 3)])


def test_values_bool_is_not_a_number():
    assert not values_match(1, True)
    assert not values_match(False, 0)


def test_values_float_tolerance_and_strings_exact():
    assert values_match(0.1 + 0.2, 0.3)
    assert not values_match("a", "A")
    assert not values_match({"a": 1}, {"a": 1, "b": 2})


def test_an_expected_integer_is_matched_exactly_in_any_notation():
    assert stdout_matches("5\n", "5.0\n") and stdout_matches("5\n", "5e0\n") and stdout_matches("5", "+5.000")
    assert not stdout_matches("1000000000000000001\n", "1e18\n")
    assert not stdout_matches("1000000000000000001\n", "1000000000000000000.0\n")
    assert not stdout_matches("3\n", "3.0000001\n")
    assert values_match(8, 8.0) and not values_match(2**60 + 1, float(2**60 + 1))


def test_huge_and_overflowing_numbers_compare_without_raising():
    assert not stdout_matches("1\n", "9" * 100000) and stdout_matches("9" * 100000, "9" * 100000)
    assert not stdout_matches("2.5\n", "1e999999999\n") and not stdout_matches("1\n", "1e999999999\n")
    assert not values_match(1.5, 10**400) and not values_match(float("nan"), 10**400)
    assert values_match(10**400, 10**400)


def test_a_token_with_leading_zeros_is_text_not_a_number():
    # `0011` is a binary string or a zero-padded code: printing the number 11 is not the answer.
    assert not stdout_matches("0011\n", "11\n") and not stdout_matches("11\n", "0011\n")
    assert not stdout_matches("007\n", "7.0\n") and not stdout_matches("-05\n", "-5\n")


def test_control_zero_padded_answers_written_as_given_and_ordinary_zeros_match():
    assert stdout_matches("0011 007\n", "0011 007\n")
    assert stdout_matches("0 0.5 -0.25\n", "0.0 .5 -0.250\n") and stdout_matches("5\n", "+5.000\n")
