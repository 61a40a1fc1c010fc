"""Wrong answers that once scored 1, by family: each attack beside its honest control."""

import pytest

from verifiers import failures
from verifiers.math import math_reward, verify, verify_batch


@pytest.fixture(autouse=True, scope="module")
def _warm_pool():
    verify_batch(["1"], ["1 + 0"])


# family -> [(gold, wrong answer, honest answer)]
FAMILIES = {
    "text compared without braces, backslashes, spaces or case": [
        ("2^{n-1}", "2^{n}-1", "2^{n-1}"),
        ("\\frac{11}{2}", "\\frac{1}{12}", "\\frac{11}{2}"),
        ("\\sqrt{x+1}", "\\sqrt{x}+1", "\\sqrt{x + 1}"),
        ("2N", "2n", "2N"),
        ("a^{b+c}", "a^{b}+c", "a^{c+b}"),
        ("\\frac{x}{y+1}", "\\frac{x}{y}+1", "\\frac{x}{1+y}"),
    ],
    "each name = value meets the same name": [
        ("x=1, y=2", "x=2, y=1", "y=2, x=1"),
        ("(x,y)=(1,2)", "(y,x)=(1,2)", "(x,y)=(1,2)"),
        ("y^2=4x", "x^2=4x", "y^2 = 4x"),
        ("y = 7", "x = 7", "y = 7"),
        ("x=1, y=2", "2, 1", "1, 2"),
        ("a=3, b=5", "a=5, b=3", "b=5, a=3"),
        ("0 < x < 1", "0 < y < 1", "(0, 1)"),  # a chained inequality bounds the gold's unknown
        ("0<f(x)<1", "0<g(x)<1", "0 < f(x) < 1"),
        ("x<1 \\text{ or } x>2", "y<1 \\text{ or } y>2", "(-\\infty,1) \\cup (2,\\infty)"),
    ],
    "functions compared where they differ": [
        ("|x|", "x", "\\sqrt{x^2}"),
        ("\\ln|x| + C", "\\ln x + C", "\\ln|x| + C"),
        ("\\sqrt{x^2-2x+1}", "x-1", "|x-1|"),
        ("x", "|x|", "\\frac{x^2}{x}"),
        ("\\lfloor x \\rfloor", "\\lceil x \\rceil - 1", "\\lfloor x \\rfloor"),  # differ at integers only
        ("\\lceil x \\rceil", "\\lfloor x \\rfloor + 1", "\\lceil x \\rceil"),
        ("\\frac{1}{2}\\ln(x^2+1)", "\\ln\\sqrt{x^2}+\\frac{1}{2}", "\\ln\\sqrt{x^2+1}"),
    ],
    "words are not products of letters": [
        ("\\text{Alice}", "\\text{Celia}", "\\text{Alice}"),
        ("\\text{odd}", "\\text{dod}", "\\text{Odd}"),
        ("\\text{Evelyn}", "\\text{Nevely}", "Evelyn"),
        ("\\text{east}", "\\text{seat}", "\\text{East}"),
    ],
    "an interval is not the list of its endpoints": [
        ("[1, 2]", "1, 2", "[1,2]"),
        ("1, 2", "[1, 2]", "2, 1"),
        ("[0, 5)", "0, 5", "[0,5)"),
        ("(1, 3]", "\\{1, 3\\}", "(1,3]"),
    ],
    "hedges and negations around the answer": [
        ("5", "It is certainly not equal to 5", "It is certainly equal to 5"),
        ("5", "It is one of 3, 5, 7", "It is 5"),
        ("7", "7, unless it's 8", "It is 7"),
        ("5", "The answer is not \\boxed{5}", "The answer is \\boxed{5}"),
        ("5", "\\boxed{5}, or possibly 7", "\\boxed{5}, which checks out."),
        ("5", "So \\boxed{5}. But maybe 6.", "So \\boxed{5}."),
        ("5", "\\boxed{5}, although 6 is also possible.", "\\boxed{5}, as checked above."),
        ("5", "\\boxed{5} (6 is also valid)", "\\boxed{5} (checked: 2 + 3 = 5)"),
        ("5", "\\boxed{5}. Another possible answer is 6.", "\\boxed{5}. Both steps agree."),
        ("5", "\\boxed{5} is wrong.", "\\boxed{5} is the count."),
        ("C", "\\boxed{C}, or possibly D.", "\\boxed{C}. Or perhaps A different approach works too."),
        ("(C)", "\\boxed{C} (maybe D)", "\\boxed{C} (checked)"),
        ("(C)", "\\boxed{(C)}, alternatively (B)", "\\boxed{(C)}, as (B) fails."),
        ("5", "\\boxed{5}\\text{ is not correct}", "\\boxed{5\\,}"),
        ("5", "\\boxed{5} (incorrect)", "\\boxed{5} (checked)"),
        ("5", "\\boxed{5}? No.", "\\boxed{5}. No other value works."),
        ("5", "\\boxed{5}... no, wait.", "\\boxed{5}. Wait times do not matter here."),
    ],
    "units are compared, not stripped": [
        ("5 \\text{ m}", "5 \\text{ km}", "5 \\text{ meters}"),
        ("5 \\text{ minutes}", "5 \\text{ seconds}", "5 \\text{ min}"),
        ("3 \\text{ kg}", "3 \\text{ g}", "3 \\text{kg}"),
        ("10 \\text{ m}^2", "10 \\text{ m}^3", "10 \\text{ m}^2"),
        ("4 \\text{ m/s}", "4 \\text{ km/h}", "4 \\text{ m/s}"),
        ("7 \\text{ s}", "7 \\text{ m}", "7 \\text{ seconds}"),
        # A trailing variable is no unit: it is never dropped.
        ("2\\pi r h", "2\\pi r", "2\\pi h r"),
        ("x + t", "x", "t + x"),
        ("5c", "5", "5c"),
    ],
    "a percent sign on both sides is no unit to drop": [
        ("50\\%", "0.5\\%", "\\frac{1}{2}"),
        ("20\\%", "0.2\\%", "20 \\text{ percent}"),
        ("0.2\\%", "20\\%", "0.2\\%"),
        ("1\\%", "100\\%", "1\\%"),
        ("\\frac{100}{3}\\%", "\\frac{1}{3}\\%", "\\frac{1}{3}"),  # through sympy
    ],
    "degrees are not radians": [
        ("60^\\circ", "60 \\text{ radians}", "60 \\text{ degrees}"),
        ("30°", "30 \\text{ rad}", "30"),
        ("60 \\text{ rad}", "60^\\circ", "60 \\text{ radians}"),
    ],
    "a unit written after the answer, in prose or just outside its box, is kept": [
        ("5 \\text{ m}", "\\boxed{5} km", "\\boxed{5} m"),
        ("5 \\text{ m}", "$\\boxed{5}$\\,\\text{km}", "$\\boxed{5}$ in all"),
        ("5 \\text{ m}", "The length is 5 \\text{ km}", "The length is 5 \\text{ m}"),
        ("5\\text{ m}", "Answer: $5$ km", "Answer: $5$ m"),
        ("60^\\circ", "\\theta = 60 \\text{ rad}", "\\theta = 60^\\circ"),
    ],
    "an unevaluated sum, product, integral, limit or derivative restates the question": [
        ("\\frac{1}{3}", "\\int_0^1 x^2 \\, dx", "\\frac{1}{3}"),
        ("\\frac{n(n+1)(2n+1)}{6}", "\\sum_{k=1}^{n} k^2", "\\frac{n(2n+1)(n+1)}{6}"),
        ("55", "\\sum_{k=1}^{10} k", "55"),
        ("\\frac{\\pi^2}{6}", "\\sum_{n=1}^{\\infty} \\frac{1}{n^2}", "\\frac{\\pi^{2}}{6}"),
        ("2x", "\\frac{d}{dx} x^2", "2x"),
        ("n!", "\\prod_{k=1}^{n} k", "n!"),
        ("1", "\\lim_{x\\to0}\\frac{\\sin x}{x}", "1"),
    ],
    "an approximation is read by its exact side": [
        ("5", "\\boxed{6 \\approx 5}", "\\boxed{5 \\approx 5.0}"),
        ("\\frac{1}{3}", "\\frac{1}{4} \\approx 0.33", "\\frac{1}{3} \\approx 0.33"),
    ],
    "letters, decimal commas and gold boxes": [
        ("a", "A", "a"),  # a lower-case gold is a variable, not choice (A)
        ("e", "E", "e"),
        ("(B)", "\\textbf{(C)}\\ 7", "\\textbf{(B)}\\ 7"),
        ("B", "\\text{B and C}", "\\text{B}"),  # two options picked are not one
        ("(B)", "B C", "(B)"),
        ("B", "(B) and (D)", "(B) 12"),
        ("12:00", "212:00", "12:00"),  # a clock time is no ratio 12/0
        ("12:00", "-12:00", "12:00"),
        ("12:00", "5:0", "12:00"),
        ("2,3", "2.3", "2, 3"),
        ("The results are \\boxed{4} and \\boxed{5}.", "5", "4, 5"),
    ],
}
CASES = [(family, *case) for family, cases in FAMILIES.items() for case in cases]


@pytest.mark.parametrize(("family", "gold", "wrong", "honest"), CASES)
def test_wrong_answer_scores_zero_and_honest_one(family, gold, wrong, honest):
    assert verify_batch([gold, gold], [wrong, honest]) == [False, True], family


@pytest.mark.parametrize("gold", ["proof", "notfound", "N/A", "?", "QED", "\\text{proof}", "", "  "])
def test_placeholder_gold_has_no_reward(gold):
    failures.drain()
    assert math_reward(["</think>\\boxed{5}", "</think>\\boxed{proof}"], answer=[gold, gold]) in (
        [None, None],
    )
    assert verify(gold, "5") is False


@pytest.mark.parametrize(
    "gold", ["Part one gives \\boxed{2}. Part two gives \\boxed{9}.", "\\boxed{1} no no no no no \\boxed{2}"]
)
def test_a_gold_boxing_several_separate_values_has_no_single_answer(gold):
    assert math_reward(["</think>\\boxed{9}", "</think>\\boxed{2}"], answer=[gold, gold]) == [None, None]
    assert math_reward(["</think>\\boxed{2}"], answer=["so \\boxed{2}, that is \\boxed{2}"]) == [1.0]


def test_a_real_gold_next_to_placeholders_is_still_scored():
    got = math_reward(["</think>\\boxed{5}", "</think>\\boxed{5}"], answer=["QED", "5"])
    assert got == [None, 1.0]


@pytest.mark.parametrize(
    "completion",
    [
        "\\boxed{12}\n\nIf you have questions, or need help with step 2, just ask.",
        "\\boxed{12}, or equivalently $\\frac{24}{2}$.",
        "The answer is not 10 but \\boxed{12}.",
        "I am not sure at first, but after checking, the answer is \\boxed{12}.",
    ],
)
def test_words_that_do_not_touch_the_answer_do_not_take_it_back(completion):
    assert verify("12", completion) is True


# A bare LaTeX gold over 120 characters (a Minerva answer) was read as a worked solution: its last term,
# `2`, became the gold, so an answer of 2 scored 1 and the right expression 0.
LONG_BARE_GOLD = (
    "\\omega_{n}^{2} e^{-\\zeta \\omega_{n} t} \\cos \\left(\\omega_{n} \\sqrt{1-\\zeta^{2}} t\\right)"
    "-\\frac{\\zeta \\omega_{n}^{2}}{\\sqrt{1-\\zeta^{2}}} e^{-\\zeta \\omega_{n} t} \\sin \\left(\\omega_{n} "
    "\\sqrt{1-\\zeta^{2}} t\\right)"
)


def test_a_long_bare_gold_is_the_whole_answer_not_its_last_term():
    assert len(LONG_BARE_GOLD) > 120
    completions = ["</think>\\boxed{2}", f"</think>\\boxed{{{LONG_BARE_GOLD}}}"]
    assert math_reward(completions, answer=[LONG_BARE_GOLD] * 2) == [0.0, 1.0]


def test_control_a_worked_solution_without_a_box_still_gives_its_answer():
    solution = (
        "We add the two numbers and then we double the sum. The sum of the numbers is 7, and twice "
        "that is 14. So the answer is 14."
    )
    assert math_reward(["</think>\\boxed{14}", "</think>\\boxed{7}"], answer=[solution] * 2) == [1.0, 0.0]


def test_control_a_gold_that_is_itself_a_sum_meets_the_same_sum():
    gold = "\\sum_{k=1}^{n} \\frac{1}{k}"
    assert verify_batch([gold, gold], ["\\sum_{j=1}^{n} \\frac{1}{j}", "\\sum_{k=1}^{n} \\frac{2}{k}"]) == [
        True,
        False,
    ]
