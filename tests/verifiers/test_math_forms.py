"""Forms a reader accepts, by family: each spelling that means the gold scores 1, and a near miss in the
same spelling scores 0."""

import pytest

from verifiers.math import verify_batch


@pytest.fixture(autouse=True, scope="module")
def _warm_pool():
    verify_batch(["1"], ["1 + 0"])


# family -> [(gold, answer meaning the gold, answer in the same form that does not)]
FAMILIES = {
    "TeX spellings": [
        ("\\frac{3}{8}", "{3 \\over 8}", "{8 \\over 3}"),
        ("\\frac{3}{8}", "3 \\over 8", "3 \\over 7"),
        ("D", "\\textbf{(D)}\\ 7", "\\textbf{(C)}\\ 7"),
        ("(D)", "\\textbf{D}", "\\textbf{B}"),
        (
            "\\begin{pmatrix}1\\\\2\\end{pmatrix}",
            "\\vec{u} = \\begin{pmatrix}1\\\\2\\end{pmatrix}",
            "\\vec{u} = \\begin{pmatrix}2\\\\1\\end{pmatrix}",
        ),
        ("(1, 2)", "\\mathbf{w} = (1, 2)", "\\mathbf{w} = (2, 1)"),
        ("8 \\text{ m}^3", "8 \\text{m}^3", "8 \\text{m}^2"),
        ("3 \\text{ m/s}", "3 \\text{m/s}", "3 \\text{km/s}"),
        ("12", "12 \\text{ cm}^2", "13 \\text{ cm}^2"),
    ],
    "trigonometric values at degrees": [
        ("\\frac{\\sqrt{3}}{2}", "\\cos 30^\\circ", "\\sin 30^\\circ"),
        ("\\frac{\\sqrt{6}+\\sqrt{2}}{4}", "\\sin 75^\\circ", "\\sin 15^\\circ"),
        ("1", "\\cot 45^\\circ", "\\cot 30^\\circ"),
        ("\\frac{1}{2}", "\\sin(30°)", "\\cos(30°)"),
        ("\\frac{3}{4}", "\\sin^2 60^\\circ", "\\cos^2 60^\\circ"),
    ],
    "sets of reals": [
        (
            "(-\\infty, 2] \\cup [5, \\infty)",
            "x \\le 2 \\text{ or } x \\ge 5",
            "x \\le 2 \\text{ or } x \\ge 6",
        ),
        ("(-\\infty, 2) \\cup (5, \\infty)", "x < 2 or x > 5", "x \\le 2 or x > 5"),
        ("(-\\infty, \\infty)", "\\text{all real numbers}", "\\text{all positive numbers}"),
        ("(-\\infty, \\infty)", "\\mathbb{R}", "\\mathbb{R}^+"),
        ("(-\\infty, \\infty)", "ℝ", "(0, \\infty)"),
        ("\\text{DNE}", "\\text{does not exist}", "0"),
        ("\\text{DNE}", "\\text{no limit}", "\\infty"),
        ("\\emptyset", "\\varnothing", "\\{\\emptyset\\}"),
        # inequalities joined by "and" bound an interval ("and" read them as a list of two: scored 0)
        ("0<x<1", "x>0 \\text{ and } x<1", "x>0 \\text{ and } x<2"),
        ("(0, 1)", "x > 0 \\land x < 1", "x > 0 \\lor x < 1"),
        ("-2 \\le x < 3", "x<3 \\text{ and } x\\geq -2", "x<3 \\text{ and } x > -2"),
        ("0<x<1", "x > 0 \\wedge x < 1", "x>0 \\text{ and } y<1"),  # another unknown
        ("x>0", "x > 0", "x>0 \\text{ and } x<1"),  # a narrower set
        ("2, 3", "2 \\text{ and } 3", "2 \\text{ and } 4"),  # values, not inequalities: a list
    ],
    "equations whose variable matters": [
        ("x = 7", "x=7", "y = 7"),
        ("y = 2x + 1", "y = 1 + 2x", "x = 2y + 1"),
        ("x = 7", "7", "x = 8"),
    ],
    "numbers in a base": [
        ("1011_2", "1011", "1011_3"),
        ("1011_2", "1011_{2}", "1101_2"),
        ("1011_2", "11_{10}", "11"),
        ("2A_{16}", "2A", "2B_{16}"),
    ],
    "answer statements": [
        ("5", "**Answer: 5**", "**Answer: 6**"),
        (
            "5",
            "\\boxed{5}. Note that the answer is the number of ways.",
            "\\boxed{6}. Note that the answer is the number of ways.",
        ),
        ("5", "We check both cases.\nHence 5.", "We check both cases.\nHence 6."),
        ("5", "答案：5", "答案：6"),
        ("5", "最终答案是 5", "最终答案是 6"),
        ("5", "Ответ: 5", "Ответ: 6"),
        ("5", "Respuesta: 5", "Respuesta: 4"),
    ],
    "Unicode maths": [
        ("2\\sqrt{2}", "2√2", "2√3"),
        ("x^2", "x²", "x³"),
        ("\\infty", "∞", "-∞"),
        ("\\sqrt{x+1}", "√(x+1)", "√x+1"),
        ("2\\pi", "2π", "π"),
        ("x \\le 3", "x ≤ 3", "x ≥ 3"),
    ],
    "formatting wrappers": [
        ("5", "\\boldsymbol{5}", "\\boldsymbol{6}"),
        ("5", "\\bm{5}", "\\bm{6}"),
        ("5", "\\framebox{5}", "\\framebox{6}"),
        ("5", "\\boxed{\\mathbf{5}}", "\\boxed{\\mathbf{6}}"),
    ],
    "sets with repeated elements": [
        ("\\{1, 2\\}", "\\{1, 1, 2\\}", "\\{1, 1, 3\\}"),
        ("\\{1, 2, 3\\}", "\\{3, 2, 1, 3\\}", "\\{3, 2, 2\\}"),
    ],
    "an option letter with its value": [  # AMC golds name both; either one answers (the first 5 scored 0)
        ("\\textbf{(B)}\\ 2", "\\boxed{B}", "\\boxed{C}"),
        ("\\textbf{(B)}\\ 2", "\\boxed{2}", "\\boxed{3}"),
        ("\\textbf{(B)}\\ 2", "\\boxed{\\textbf{(B) } 2}", "\\boxed{(B)\\ 3}"),  # both must be right
        ("2", "\\boxed{\\textbf{(B)}\\ 2}", "\\boxed{(B)\\ 3}"),  # a plain gold: the value counts
        ("(B) \\frac{1}{2}", "\\boxed{0.5}", "\\boxed{(C)\\ 0.5}"),
        ("\\textbf{(B)}\\ 2", "\\boxed{(B)}", "\\boxed{(C)\\ 2}"),
        ("\\textbf{(B)}\\ 2", "\\boxed{B: 2}", "\\boxed{(A) 1, (B) 2}"),  # several options pick none
        ("5", "\\boxed{(B) 5}", "\\boxed{(A) 1 (B) 5}"),
        ("2", "\\boxed{(B) 2}", "\\boxed{B}"),  # a letter is no value
        ("B", "\\boxed{(B)\\ 2}", "\\boxed{(C)\\ 2}"),
    ],
    "identities": [
        ("1", "\\sin^2 x + \\cos^2 x", "\\sin^2 x + \\cos x"),
        ("\\sec^2 x", "1 + \\tan^2 x", "1 + \\tan x"),
        ("2\\sin x \\cos x", "\\sin 2x", "\\sin x"),
        ("0", "\\ln(e^x) - x", "\\ln(x) - x"),
    ],
}
CASES = [(family, *case) for family, cases in FAMILIES.items() for case in cases]


@pytest.mark.parametrize(("family", "gold", "same", "near_miss"), CASES)
def test_form_is_read_and_its_near_miss_is_not(family, gold, same, near_miss):
    assert verify_batch([gold, gold], [same, near_miss]) == [True, False], family
