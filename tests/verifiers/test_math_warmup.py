"""The workers' warm-up (`verifiers.math.warmup`) builds the LaTeX parser's lookahead tables for typical
answer shapes before the forkserver forks, so a worker's first answers of those shapes build few."""

from __future__ import annotations

import subprocess
import sys

from verifiers.math.parse import normalize, parse
from verifiers.math.warmup import SHAPES

# Answers of the warmed families, with numbers, letters and signs that no warm-up entry has.
FRESH = [
    "\\begin{pmatrix} -\\frac{4}{9} \\\\ \\frac{2}{9} \\end{pmatrix}",
    "(\\begin{pmatrix} \\frac{5}{6} \\\\ \\frac{1}{6} \\end{pmatrix})",
    "y \\in [-\\frac{7}{3}, 0) \\cup (1, \\frac{9}{2}]",
    "x_1 = \\frac{7+\\sqrt{3}}{5}, x_2 = \\frac{7-\\sqrt{3}}{5}",
    "{3, 5, 11}",
    "(\\frac{3}{4}, -\\frac{1}{4})",
    "\\frac{2-\\sqrt{11}}{3}",
    "y = \\frac{3}{4}x - 2",
]

_PROBE = """
import sys
from latex2sympy2_extended.gen.antlr4_13_2.PSParser import PSParser
if sys.argv[1] == "warm":
    import verifiers.math.worker  # what the forkserver preloads: runs the warm-up
from verifiers.math.parse import normalize, parse
parse(normalize("1"))
before = sum(len(d._states) for d in PSParser.decisionsToDFA)
for s in sys.argv[2:]:
    parse(normalize(s))
print(sum(len(d._states) for d in PSParser.decisionsToDFA) - before)
"""


def _tables_built(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, *FRESH], capture_output=True, text=True, timeout=120, check=True
    )
    return int(out.stdout.strip().splitlines()[-1])


def test_warmed_workers_build_few_tables_for_fresh_answers_of_known_shapes():
    cold, warm = _tables_built("cold"), _tables_built("warm")
    assert cold >= 50, cold  # the control: a cold parser builds tables for each of these shapes
    assert warm <= cold // 5, (warm, cold)


def test_every_shape_is_read_by_the_parser():
    """A shape the parser rejects warms little and hides a typo: each reads to at least one expression."""
    unread = [s for s in SHAPES if not parse(normalize(s)).exprs]
    assert not unread, unread
