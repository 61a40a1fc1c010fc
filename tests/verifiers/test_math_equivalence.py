"""Specifications for mathematical equivalence, through the public `verify`."""

import pytest

from verifiers.math import verify, verify_batch


@pytest.fixture(autouse=True, scope="module")
def _warm_pool():
    """The first call starts the worker pool (seconds on a busy machine) and waits for it: start it before
    the specifications, so that their timeouts measure the answers, not the start."""
    verify_batch(["1"], ["1 + 0"])


SAME = [
    ("\\frac{1}{2}", "0.5"),
    ("\\frac{1}{2}", "1/2"),
    ("\\{1,2\\}", "\\{2,1\\}"),
    ("x=5", "5"),
    ("5", "x = 5"),
    ("90^\\circ", "90"),
    ("28\\%", "28"),
    ("125 \\text{ miles}", "125"),
    ("1000000", "1,000,000"),
    ("\\frac{1}{3}", "0.\\overline{3}"),
    ("3\\sqrt{2}", "\\sqrt{18}"),
    ("2\\pi", "\\pi \\cdot 2"),
    ("3 \\times 10^{5}", "300000"),
    ("[1,2)", "[1,2)"),
    ("x \\geq 5", "[5, \\infty)"),
    ("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}"),
    ("x^2+2x+1", "(x+1)^2"),
    ("\\tan^2(y)+1", "\\sec^2(y)"),
    ("\\log_2 8", "3"),
    ("2+3i", "3i+2"),
    ("\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "\\begin{bmatrix}1 & 2 \\\\ 3 & 4\\end{bmatrix}"),
    ("\\text{(C)}", "C"),
    ("\\text{Evelyn}", "Evelyn"),
    ("\\emptyset", "no solution"),
    ("\\infty", "\\infty"),
    ("10", "10^{10^{10}}-10^{10^{10}}+10"),
    ("\\sum_{i=1}^{n} i^2", "\\frac{n(n+1)(2n+1)}{6}"),  # a summation index i is no imaginary unit
    ("i^2", "-1"),  # a free i is
]
DIFFERENT = [
    ("\\frac{1}{3}", "0.333"),
    ("\\pi", "3.14159"),
    ("(1,2)", "(2,1)"),
    ("[1,2)", "[1,2]"),
    ("\\{1,2\\}", "(1,2)"),
    ("x > 5", "x < 5"),
    ("0.28", "28"),
    ("\\text{(C)}", "D"),
    ("\\infty", "-\\infty"),
    ("x^2+2x+1", "(x+1)^3"),
    ("12:00", "1:00"),
    ("\\sum_{i=1}^{n} i^2", "\\frac{n(n+1)}{2}"),
    ("i^2", "1"),
]


@pytest.mark.parametrize(("gold", "answer"), SAME)
def test_equivalent_forms_verify(gold, answer):
    assert verify(gold, answer) is True


@pytest.mark.parametrize(("gold", "answer"), DIFFERENT)
def test_different_values_do_not_verify(gold, answer):
    assert verify(gold, answer) is False


def test_gold_may_be_a_worked_solution_with_a_box():
    assert verify("so the total is $\\boxed{42}$ apples.", "The answer is 42")


# Shortcuts that skip sympy's slow paths must decide as those paths do (each pair also ran through them).
SHORTCUT_SAME = [
    ("-2 < x \\le 3", "(-2, 3]"),  # bounds on the unknown: an interval without sympy's solver
    ("x < 0 \\text{ or } x > 1", "(-\\infty, 0) \\cup (1, \\infty)"),
    ("0<f(x)<1", "(0,1)"),
    ("1 \\le |z| \\le \\frac{3}{2}", "[-\\frac{3}{2}, -1] \\cup [1, \\frac{3}{2}]"),
    ("|z| > 1", "(-\\infty, -1) \\cup (1, \\infty)"),
    ("x^2/4 + y^2/3 = 1", "x^2/16 + y^2/12 = 1/4"),  # proportional equations: simplify still proves it
    ("34x+45y-20z+100=0", "-34x-45y+20z-100=0"),
    ("y = 2x + 1", "y = 1 + 2x"),
    ("x = 2x - 3", "x = 3"),  # the name occurs in its value: compared as relations, not values
    ("F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}", "F_n = \\sum_{k=0}^{n-1} F_{n-k-1} F_k"),
]
SHORTCUT_DIFFERENT = [
    ("-2 < x \\le 3", "[-2, 3]"),
    ("-2 < x \\le 3", "(-2, 3)"),
    ("0<f(x)<1", "[0,1]"),
    ("1 \\le |z| \\le \\frac{3}{2}", "[1, \\frac{3}{2}]"),
    ("|z| > 1", "(-\\infty, -1] \\cup [1, \\infty)"),
    ("x + y = 1", "x - y = 1"),  # the ratio of the two sides varies: no simplify needed to say no
    ("x = 7", "y = 7"),
    ("y = 2x + 1", "y = 2x + 2"),
    ("F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}", "F_n = \\sum_{k=0}^{n-2} F_k F_{n-k-2}"),
]


@pytest.mark.parametrize(("gold", "answer"), SHORTCUT_SAME)
def test_shortcuts_keep_equal_answers_equal(gold, answer):
    assert verify(gold, answer, timeout_s=30) is True


@pytest.mark.parametrize(("gold", "answer"), SHORTCUT_DIFFERENT)
def test_shortcuts_keep_different_answers_different(gold, answer):
    assert verify(gold, answer, timeout_s=30) is False


def test_interval_shortcut_is_sympys_solution_set():
    """`_interval_of` reads bounds on the unknown directly; it must give the set sympy's `as_set` solves
    for, and leave anything else (a bound on |r|, an equation) to the solver."""
    import sympy

    from verifiers.math.equivalence import _interval_of, _ratio_varies

    r = sympy.Symbol("r_", real=True)
    half, root2 = sympy.Rational(1, 2), sympy.sqrt(2)
    simple = [r > 3, r >= -half, r < root2, r <= 0, sympy.Lt(3, r), sympy.Ge(sympy.pi, r)]  # also mirrored
    simple += [abs(r) < 2, abs(r) <= half, abs(r) > root2, abs(r) >= 1, sympy.Gt(3, abs(r))]
    simple += [sympy.And(a, b) for a in simple for b in simple] + [
        sympy.Or(a, b) for a in simple for b in simple
    ]
    for rel in simple:
        assert _interval_of(rel, r) == rel.as_set(), rel
    for rel in (abs(r) <= 0, abs(r) > -1, sympy.Eq(r, 1), r**2 > 4, abs(r - 1) < 3, r < sympy.oo):
        assert _interval_of(rel, r) is None, rel
    x, y = sympy.symbols("x y")
    assert not _ratio_varies(x + 1, 2 * x + 2)
    assert not _ratio_varies(x**2 / 4 + y**2 / 3 - 1, x**2 / 16 + y**2 / 12 - half / 2)
    assert _ratio_varies(x + y - 1, x - y - 1)
