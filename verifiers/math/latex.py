"""LaTeX to sympy through latex2sympy2_extended, with ANTLR's fast prediction wherever it gives the same tree.

Most of a parse's time is ANTLR's full-context (LL) prediction. The standard two-stage strategy tries the
fast SLL prediction first, which gives the same tree whenever it succeeds, and falls back to LL on error.
The library's grammar, though, defeats SLL on every letter with a subscript or superscript (`x_1`,
`x^2`, `F_{n-k-1}`): its `atom_expr` rule offers `sub sup | sup sub | sub | sup` and SLL always picks the
first. Those answers (equations, sequences, polynomials) took 5-200 ms each in LL. `_sll_form` rewrites
them so SLL reads them, to the same sympy object:

- a subscripted letter becomes one placeholder token (a Greek command the string does not use), which
  the converter turns back into exactly the symbol the library builds for it (`F_{n-k-1}`);
- a superscript on a letter moves to a brace group (`x^2` -> `{x}^2`), which the library converts to the
  same unevaluated power.

Only plain forms are rewritten (a whitelist of commands; nothing that the grammar reads as a function
call, a limit or summation index, a transpose or a degree), and a rewrite that SLL still cannot read
falls back to LL on the original text. A test parses every answer of the project's suites both ways.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

_ATOM = re.compile(
    # a letter that is its own token (not e, E, I, d: constants and differentials), and its subscript
    r"(?<![A-Za-z\\])([A-DF-HJ-Za-cf-z])"
    r"(?:_(?:(\d)(?![\d.,])|([A-DF-HJ-Za-cf-z])|\{([A-Za-z0-9+\-]+)\}))?"
)
# Commands a rewritten string may hold: the rewrite must not touch the text of a token such as
# `\mathrm{x_1}` (one token) or an index the library reads by its text (`\sum_{k_1=0}`, `\lim_{x_1 \to 0}`).
_SAFE_CMDS = frozenset(
    [
        "frac",
        "sqrt",
        "cdot",
        "times",
        "div",
        "pi",
        "infty",
        "in",
        "cup",
        "cap",
        "le",
        "leq",
        "ge",
        "geq",
        "lt",
        "gt",
        "ne",
        "neq",
        "pm",
        "mp",
        "sin",
        "cos",
        "tan",
        "cot",
        "sec",
        "csc",
        "log",
        "ln",
        "exp",
        "quad",
        "qquad",
        "sum",
        "prod",
    ]
)
# A summation's index and bounds are read by their text: their scripts are never rewritten.
_INDEXED = re.compile(r"\\(?:sum|prod)\s*")
_PLACEHOLDERS = [
    "alpha",
    "beta",
    "delta",
    "zeta",
    "eta",
    "kappa",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "phi",
    "chi",
    "psi",
    "omega",
    "Delta",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
]
# What may not follow a rewritten atom: a call (`f_1(x)`, `f^{-1}(x)`), a prime, another script.
_NO_FOLLOW = ("(", "[", "{", "'", "_", "^", "\\left", "\\big", "\\Big", "\\lbrack", "\\lparen", "!")


def _closing(s: str, i: int) -> int | None:
    """Index after the brace group that opens at `s[i]`, or None when unbalanced."""
    depth = 0
    for j in range(i, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return j + 1
    return None


def _superscript_end(s: str, i: int) -> int | None:
    """End of a plain superscript starting at `s[i] == '^'`; None for transposes, degrees and the rest."""
    if i + 1 >= len(s):
        return None
    c = s[i + 1]
    if c.isdigit():
        j = i + 2
        while j < len(s) and s[j].isdigit():
            j += 1
        return None if j < len(s) and s[j] in ".," else j
    if c.isalpha() and c not in "TeEId":
        return i + 2
    if c == "{":
        end = _closing(s, i + 1)
        if end is None or re.fullmatch(r"\{\s*(?:T|\\top|\\circ|\\degree|\\circle|°)\s*\}", s[i + 1 : end]):
            return None
        return end
    return None


def _index_spans(s: str) -> list[tuple[int, int]]:
    """Where the scripts of `\\sum` and `\\prod` lie (their index and bounds)."""
    spans = []
    for m in _INDEXED.finditer(s):
        j = m.end()
        while j < len(s) and s[j] in "_^":
            k = j + 1
            while k < len(s) and s[k] == " ":
                k += 1
            end = _closing(s, k) if k < len(s) and s[k] == "{" else k + 1
            if end is None:
                return [(0, len(s))]
            spans.append((j, end))
            j = end
            while j < len(s) and s[j] == " ":
                j += 1
    return spans


def _sole_argument(s: str, start: int, end: int) -> bool:
    """`p(x^2)`: the grammar reads a lone atom in brackets after a name as a call's argument; `{x}^2` is
    no atom, so a superscript there keeps its form."""
    return s[:start].rstrip().endswith(("(", "[")) and s[end:].lstrip().startswith((")", "]"))


def _followed_safely(s: str, j: int) -> bool:
    rest = s[j:].lstrip()
    return not rest.startswith(_NO_FOLLOW)


def _sll_form(s: str) -> tuple[str, dict[str, str]] | None:
    """`s` with its scripted letters rewritten for SLL, and each placeholder's symbol name; None if
    there is nothing to rewrite or the string holds anything outside the plain forms."""
    if "_" not in s and "^" not in s:
        return None
    cmds = set(re.findall(r"\\([A-Za-z]+)", s))
    if cmds - _SAFE_CMDS or re.search(r"\\[^A-Za-z{}, ]", s):
        return None
    protected = _index_spans(s)
    free = [p for p in _PLACEHOLDERS if p not in cmds]
    names: dict[str, str] = {}
    by_name: dict[str, str] = {}
    out, pos, changed = [], 0, False
    for m in _ATOM.finditer(s):
        if m.start() < pos or any(a <= m.start() < b for a, b in protected):
            continue
        base, d, letter, braced = m.groups()
        sub = d or letter or braced
        end = m.end()
        sup_end = _superscript_end(s, end) if end < len(s) and s[end] == "^" else None
        if sub is None and sup_end is None:
            continue
        tail = sup_end if sup_end is not None else end
        if not _followed_safely(s, tail):
            continue
        if sup_end is not None and _sole_argument(s, m.start(), tail):
            continue
        if sub is not None:
            name = base + (f"_{{{sub}}}" if len(sub) > 1 else f"_{sub}")
            if name not in by_name:
                if not free:
                    return None
                by_name[name] = "\\" + free.pop(0)
                names[by_name[name]] = name
            atom = by_name[name] + " "
        else:
            atom = base
        out.append(s[pos : m.start()])
        out.append(f"{{{atom.strip()}}}{s[end:sup_end]}" if sup_end is not None else atom)
        pos, changed = (sup_end if sup_end is not None else end), True
    if not changed:
        return None
    out.append(s[pos:])
    return "".join(out), names


_placeholder_lock = threading.Lock()


@lru_cache(maxsize=1)
def _converters():
    """latex2sympy2_extended's converter twice: with ANTLR's fast SLL prediction, and with full LL."""
    import sympy
    from antlr4.atn.PredictionMode import PredictionMode
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig, _Latex2Sympy
    from latex2sympy2_extended.symbols import get_symbol

    class _LL(_Latex2Sympy):
        placeholders: dict[str, str] = {}

        def parse_number(self, text: str):
            # The library's sympy.Number(text) goes through sympify's eval; direct constructors cost
            # microseconds instead of a millisecond per number.
            text = text.replace(",", "")
            if text.isdigit():
                return sympy.Integer(text)
            if re.fullmatch(r"\d*\.\d+|\d+\.\d*", text):
                # A decimal is the exact number its digits write: 0.375 is 3/8, and no number of
                # digits makes a decimal equal to sqrt(3) or 2/7 (see `verifiers.math.equivalence`).
                return sympy.Rational(text)
            return super().parse_number(text)

        def convert_atom_expr(self, atom_expr):
            greek = atom_expr.GREEK_CMD()
            name = self.placeholders.get(greek.getText().strip()) if greek is not None else None
            if name is None:
                return super().convert_atom_expr(atom_expr)
            if atom_expr.subexpr() is not None or getattr(atom_expr, "supexpr", lambda: None)() is not None:
                raise ValueError("a placeholder carries no scripts")
            # The library's own steps for a letter with a subscript (`convert_atom_expr`).
            symbol = get_symbol(name, self.is_real, self.config.lowercase_symbols)
            if name in self.var:
                try:
                    shape = sympy.shape(self.var[name])
                    matrix = sympy.MatrixSymbol(name, shape[0], shape[1])
                    self.variances[matrix] = self.variances[symbol]
                    return matrix
                except Exception:  # noqa: S110 - as the library: not a matrix variable
                    pass
            return symbol

    class _SLL(_LL):
        def create_parser(self, latex_str: str):
            parser = super().create_parser(latex_str)
            parser._interp.predictionMode = PredictionMode.SLL
            return parser

    # Case matters in mathematics: `2N` is not `2n` (the library lower-cases every symbol by default).
    config = ConversionConfig(lowercase_symbols=False)
    return _SLL(config=config), _LL(config=config)


def sll_parse(s: str):
    """The fast path alone: `s` (rewritten where needed) under SLL; raises where LL must decide.

    A string with a rewrite is read rewritten first: SLL fails on its scripted letters as written, and
    that doomed attempt cost as much as the parse (and taught the parser's lookahead tables shapes no
    later parse reuses). Where SLL reads both forms they read the same (tested on the suites).
    """
    fast, _ = _converters()
    form = _sll_form(s)
    if form is not None:
        with _placeholder_lock:  # the converter is shared; its placeholders hold for this one parse
            text, fast.placeholders = form
            try:
                return fast.parse(text)
            except Exception:  # noqa: S110 - the rewrite is unreadable: the original text decides
                pass
            finally:
                fast.placeholders = {}
    return fast.parse(s)


@lru_cache(maxsize=4096)
def latex_to_sympy(s: str):
    """The sympy object latex2sympy2_extended reads from `s` (after its normalization)."""
    from latex2sympy2_extended import NormalizationConfig, normalize_latex

    config = NormalizationConfig(
        basic_latex=True, units=False, malformed_operators=True, nits=True, boxed="none"
    )
    s = normalize_latex(s, config)
    try:
        return sll_parse(s)
    except Exception:  # a syntax error under SLL may still parse under LL
        return _converters()[1].parse(s)
