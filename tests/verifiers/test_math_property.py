"""Property: no answer from a wrong-answer family scores 1 against a gold it does not equal (or restates the
question of: an unevaluated sum or integral equal to the gold answers nothing)."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifiers.math import verify_batch


@pytest.fixture(autouse=True, scope="module")
def _warm_pool():
    verify_batch(["1"], ["1 + 0"])


ints = st.integers(-60, 60)
names = st.sampled_from(["x", "y", "z", "a", "b", "n"])
UNITS = ["m", "km", "cm", "s", "min", "hours", "kg", "g", "dollars", "feet", "inches", "liters"]


@st.composite
def anagrams(draw):
    word = draw(st.text(alphabet="abcdefghilmnoprstu", min_size=4, max_size=8))
    other = "".join(draw(st.permutations(list(word))))
    if other == word:
        other = word[1:] + word[0]
    if other == word:
        other = word + "s"
    return f"\\text{{{word.capitalize()}}}", f"\\text{{{other.capitalize()}}}"


@st.composite
def swapped_names(draw):
    x, y = draw(st.lists(names, min_size=2, max_size=2, unique=True))
    v, w = draw(st.lists(ints, min_size=2, max_size=2, unique=True))
    kind = draw(st.sampled_from(["swap", "rename", "tuple", "bounds"]))
    if kind == "bounds":
        lo, hi = sorted((v, w))
        return f"{lo} < {x} < {hi}", f"{lo} < {y} < {hi}"
    if kind == "swap":
        return f"{x}={v}, {y}={w}", f"{x}={w}, {y}={v}"
    if kind == "rename":
        return f"{y} = {v}", f"{x} = {v}"
    return f"({x},{y})=({v},{w})", f"({y},{x})=({v},{w})"


@st.composite
def functions_differing_at_negatives(draw):
    c = draw(ints)
    name = draw(names)
    gold, wrong = draw(
        st.sampled_from(
            [
                ("|{n}| + {c}", "{n} + {c}"),
                ("\\ln|{n}| + {c}", "\\ln {n} + {c}"),
                ("\\sqrt{{{n}^2}} + {c}", "{n} + {c}"),
                ("{n}^2 + {c}", "{n} |{n}| + {c}"),
                ("\\lfloor {n} \\rfloor + {c}", "\\lceil {n} \\rceil - 1 + {c}"),
            ]
        )
    )
    return gold.format(n=name, c=c), wrong.format(n=name, c=c)


@st.composite
def unit_swaps(draw):
    v = draw(st.integers(1, 999))
    u, w = draw(st.lists(st.sampled_from(UNITS), min_size=2, max_size=2, unique=True))
    return f"{v} \\text{{ {u}}}", f"{v} \\text{{ {w}}}"


@st.composite
def interval_lists(draw):
    a = draw(ints)
    b = draw(st.integers(a + 1, a + 50))
    left, right = draw(st.sampled_from(["[", "("])), draw(st.sampled_from(["]", ")"]))
    if (left, right) == ("(", ")"):
        right = "]"  # an open pair (a, b) is also the point (a, b)
    interval, listed = f"{left}{a}, {b}{right}", f"{a}, {b}"
    return (interval, listed) if draw(st.booleans()) else (listed, interval)


@st.composite
def hedges(draw):
    v = draw(ints)
    w = draw(ints.filter(lambda w: w != v))
    template = draw(
        st.sampled_from(
            [
                "The answer is not \\boxed{{{v}}}.",
                "It is certainly not equal to {v}",
                "\\boxed{{{v}}}, or possibly {w}",
                "It is one of {w}, {v}",
                "{v}, unless it is {w}",
                "Maybe {v}",
                "\\boxed{{{v}}}, although {w} is also possible",
                "\\boxed{{{v}}} ({w} is also valid)",
                "\\boxed{{{v}}} is wrong.",
                "\\boxed{{{v}}}? No.",
            ]
        )
    )
    return str(v), template.format(v=v, w=w)


@st.composite
def structure_by_text(draw):
    n = draw(st.sampled_from(["n", "k", "m"]))
    k = draw(st.integers(1, 9))
    return draw(
        st.sampled_from(
            [
                (f"2^{{{n}-{k}}}", f"2^{{{n}}}-{k}"),
                (f"\\sqrt{{{n}+{k}}}", f"\\sqrt{{{n}}}+{k}"),
                (f"\\frac{{{k}}}{{{n}+1}}", f"\\frac{{{k}}}{{{n}}}+1"),
                (f"{k}{n.upper()}", f"{k}{n}"),
            ]
        )
    )


@st.composite
def other_bases(draw):
    base = draw(st.integers(2, 9))
    other = draw(st.integers(2, 10).filter(lambda b: b != base))
    digits = "".join(draw(st.lists(st.integers(0, base - 1).map(str), min_size=2, max_size=5)))
    digits = "1" + digits
    if int(digits, base) == int(digits, max(other, int(max(digits)) + 1)):
        digits += "1"
    return f"{digits}_{{{base}}}", f"{digits}_{{{other}}}" if int(
        max(digits)
    ) < other else f"{digits}_{{{base + 1}}}"


@st.composite
def percents_on_both_sides(draw):
    v = draw(st.integers(1, 999))
    scaled = draw(st.sampled_from([f"{v / 100:g}", f"{v * 100}"]))
    return f"{v}\\%", f"{scaled}\\%"


@st.composite
def degrees_as_radians(draw):
    v = draw(st.integers(1, 359))
    deg = draw(st.sampled_from([f"{v}^\\circ", f"{v}°", f"{v} \\text{{ degrees}}"]))
    rad = draw(st.sampled_from([f"{v} \\text{{ rad}}", f"{v} \\text{{ radians}}"]))
    return (deg, rad) if draw(st.booleans()) else (rad, deg)


@st.composite
def units_after_prose(draw):
    v = draw(st.integers(1, 999))
    u, w = draw(st.lists(st.sampled_from(UNITS), min_size=2, max_size=2, unique=True))
    form = draw(
        st.sampled_from(["The length is {v} {w}.", "Answer: ${v}$ {w}", "So it is {v} \\text{{ {w}}}."])
    )
    return f"{v} \\text{{ {u}}}", form.format(v=v, w=w)


@st.composite
def restated_questions(draw):
    n = draw(st.integers(2, 30))
    p = draw(st.integers(1, 3))
    form = draw(st.sampled_from(["sum", "integral", "product"]))
    if form == "sum":
        return str(sum(k**p for k in range(1, n + 1))), f"\\sum_{{k=1}}^{{{n}}} k^{{{p}}}"
    if form == "product":
        return str(math.factorial(min(n, 12))), f"\\prod_{{k=1}}^{{{min(n, 12)}}} k"
    return f"\\frac{{{n ** (p + 1)}}}{{{p + 1}}}", f"\\int_0^{{{n}}} x^{{{p}}} \\, dx"


FAMILIES = st.one_of(
    anagrams(),
    swapped_names(),
    functions_differing_at_negatives(),
    unit_swaps(),
    interval_lists(),
    hedges(),
    structure_by_text(),
    other_bases(),
    percents_on_both_sides(),
    degrees_as_radians(),
    units_after_prose(),
    restated_questions(),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=FAMILIES)
def test_no_wrong_answer_of_a_family_scores_one(pair):
    gold, wrong = pair
    assert verify_batch([gold], [wrong]) == [False], pair
