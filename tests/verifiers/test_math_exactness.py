"""The exact-number rule (`verifiers.math.equivalence`): a decimal is the exact number its digits write, so
no decimal equals an irrational or non-terminating gold; a decimal gold is read as rounded at its last digit
when the answer is written exactly."""

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from verifiers.math import verify, verify_batch


@pytest.fixture(autouse=True, scope="module")
def _warm_pool():
    verify_batch(["1"], ["1 + 0"])


EQUAL = [
    ("\\frac{3}{8}", "0.375"),  # a terminating decimal equal to the gold
    ("12", "12.0"),
    ("\\frac{3}{8}", "0.3750"),
    ("\\frac{1}{4}", ".25"),
    ("-\\frac{5}{2}", "-2.5"),
    ("50000", "50000.000"),
    ("\\frac{1}{3}", "0.\\overline{3}"),  # a repeating decimal written as one is exact
    ("\\sqrt{2}", "\\frac{2}{\\sqrt{2}}"),  # exact constants: equal to 50 digits
    ("\\sqrt{2}+\\sqrt{3}", "\\sqrt{5+2\\sqrt{6}}"),
    # A decimal gold (two or more significant digits) is rounded at its last digit:
    ("4.123105625617661", "\\sqrt{17}"),
    ("0.33", "\\frac{1}{3}"),
    ("2.65", "\\sqrt{7}"),
    ("7.78", "7.78"),
    ("0.125", "\\frac{1}{8}"),
    ("2.5", "\\frac{5}{2}"),  # a fraction equal to the decimal gold
    ("3.14", "\\frac{157}{50}"),
    ("1.50", "\\frac{3}{2}"),
    ("0.25", "25\\%"),
    ("2.5", "\\log_{10}(1000) - \\frac{1}{2}"),
    ("2.5", "\\log_{10}(1000) - \\frac{29}{60}"),  # 2.5166...: no decimal writes it, it rounds to 2.5
]
DIFFERENT = [
    # A decimal is never an irrational or non-terminating gold, however many digits it has.
    ("\\sqrt{3}", "1.7320508075688772935274463415058723669428"),
    ("e", "2.718281828459045235360287471352662497757"),
    ("\\ln 2", "0.693147180559945309417232121458176568"),
    ("\\frac{\\pi}{4}", "0.785398163397448309615660845819875721"),
    ("\\pi", "3.14159265358979323846264338327950288"),
    ("\\frac{2}{7}", "0.285714285714285714285714285714285714"),
    ("\\frac{1}{3}", "0.33333333333333333333333333333"),
    ("\\frac{1}{12}", "0.0833333333333333"),
    # A decimal that differs from the gold past its own digits.
    ("\\frac{1}{4}", "0.25000000000000000001"),
    ("3", "2.9999999999999999999999"),
    ("50000", "49999.99999999"),
    ("1", "1.0000000001"),
    # A tiny non-zero number is not zero.
    ("0", "2^{-200}"),
    ("0", "10^{-60}"),
    ("1", "1+10^{-80}"),
    # A decimal gold: a decimal answer compares exactly, an exact answer must round to it.
    ("0.33", "0.333"),
    ("7.78", "7.8"),
    ("0.3", "\\frac{1}{3}"),  # one significant digit: the gold is exact, not a rounding
    ("2.65", "\\sqrt{7.1}"),
    # A fraction with a finite decimal expansion is that decimal written another way: exact, like it.
    ("0.33", "\\frac{333}{1000}"),  # 0.333, which is not 0.33
    ("2.5", "\\frac{49}{20}"),  # 2.45
    ("2.5", "\\frac{123}{50}"),
    ("7.78", "\\frac{3891}{500}"),
    ("3.14", "\\frac{314159}{100000}"),
    ("25.5", "\\frac{509}{20}"),
    ("0.25", "\\frac{49}{2}\\%"),  # 24.5%
    ("2.5", "\\log_{10}(1000) - \\frac{27}{50}"),  # 2.46 through sympy
]


@pytest.mark.parametrize(("gold", "answer"), EQUAL)
def test_equal_numbers(gold, answer):
    assert verify(gold, answer) is True


@pytest.mark.parametrize(("gold", "answer"), DIFFERENT)
def test_different_numbers(gold, answer):
    assert verify(gold, answer) is False


def test_an_exact_answer_within_half_a_unit_of_a_decimal_gold_matches():
    # 70/9 = 7.777..., within 0.005 of 7.78: the gold is its rounding.
    assert verify("7.78", "\\frac{70}{9}") is True
    assert verify("7.78", "\\frac{69}{9}") is False


def _decimal(value: Fraction, digits: int) -> str:
    """`value` truncated to `digits` decimals, written out."""
    scaled = value.numerator * 10**digits // value.denominator
    sign = "-" if scaled < 0 else ""
    text = str(abs(scaled)).rjust(digits + 1, "0")
    return f"{sign}{text[:-digits]}.{text[-digits:]}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    num=st.integers(1, 10**6),
    den=st.integers(3, 10**4),
    digits=st.integers(1, 40),
)
def test_no_decimal_equals_a_non_terminating_fraction(num, den, digits):
    value = Fraction(num, den)
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    assume(d != 1)  # a terminating fraction has a decimal equal to it
    gold = f"\\frac{{{value.numerator}}}{{{value.denominator}}}"
    near = [_decimal(value, digits), _decimal(value + Fraction(1, 10**digits), digits)]
    assert verify_batch([gold] * 2, near) == [False, False]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 500).filter(lambda n: int(n**0.5) ** 2 != n), digits=st.integers(1, 45))
def test_no_decimal_equals_an_irrational_root(n, digits):
    import decimal

    decimal.getcontext().prec = 80
    root = decimal.Decimal(n).sqrt()
    text = str(root.quantize(decimal.Decimal(1).scaleb(-digits), rounding=decimal.ROUND_DOWN))
    assert verify_batch([f"\\sqrt{{{n}}}"], [text]) == [False]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gold=st.integers(10, 99999),
    places=st.integers(1, 3),
    extra=st.integers(1, 3),
    offset=st.integers(-49, 49).filter(lambda k: k != 0),
)
def test_no_fraction_that_is_another_decimal_rounds_to_a_decimal_gold(gold, places, extra, offset):
    """A terminating fraction within half a unit of a decimal gold (but not equal to it) scores 0,
    as the decimal it writes does; an exact 1/3-style neighbour still rounds to it."""
    g = Fraction(gold, 10**places)
    step = Fraction(1, 10 ** (places + extra))
    near = g + offset * step
    assume(abs(near - g) < Fraction(1, 2 * 10**places))
    gold_text = _decimal(g, places)
    wrong = f"\\frac{{{near.numerator}}}{{{near.denominator}}}"
    rounding = g + Fraction(1, 3 * 10 ** (places + 1))
    honest = f"\\frac{{{rounding.numerator}}}{{{rounding.denominator}}}"
    assert verify_batch([gold_text, gold_text], [wrong, honest]) == [False, True]
