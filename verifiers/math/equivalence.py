"""Decide whether two parsed answers are the same mathematical object (sympy against sympy).

**Numbers compare exactly.** A decimal is the exact rational number its digits write (`0.375` is 3/8,
`12.0` is 12), so it equals a gold only when it is that number: never an irrational gold (`\\sqrt{3}`,
`e`, `\\ln 2`, `\\pi/4`) or a non-terminating rational (`2/7`), however many digits it has, and never a
gold it differs from past its own digits (`0.25000000000000000001` is not 1/4, `49999.99999999` is not
50000). Two exact constants are equal when their difference vanishes to 50 significant digits of the
larger (`2^{-200}` is not 0).

**One tolerance, for a decimal gold.** A gold written as a plain decimal with at least two significant
digits (`7.78`, `4.123105625617661`) is taken as rounded at its last digit: an answer written exactly
(`\\sqrt{17}`, `\\frac{1}{3}`) matches when it lies within half a unit of that digit. A decimal answer
against a decimal gold still compares exactly (`0.333` is not `0.33`), and so does any answer whose value
a decimal writes (`\\frac{333}{1000}` is 0.333, `\\frac{49}{20}` is 2.45: neither is `0.33` or `2.5`).

**Percent** on one side only may be the unit the other leaves out (`50\\%` answers `\\frac{1}{2}` and `50`);
on both sides the numbers compare as written (`0.5\\%` is not `50\\%`). A degree sign is a unit: `60^\\circ`
is not `60 \\text{ rad}`.

**An unevaluated sum, product, integral, limit or derivative** in the answer, where the gold has none,
restates the question instead of answering it (`\\int_0^1 x^2\\,dx` for 1/3, `\\prod_{k=1}^n k` for `n!`,
`\\lim_{x\\to0}\\frac{\\sin x}{x}` for 1): it is not equal, whatever its value.

**Functions** (answers with unknowns) are compared at sample points that include negative, non-integer
and integer values, where `|x|` and `x`, `\\ln|x|` and `\\ln x`, or `\\lceil x \\rceil - 1` and
`\\lfloor x \\rfloor` differ; sympy's simplification
decides when a sample cannot be evaluated.

Huge numeric subtrees (`10^{10^{10}}`, `9^{9^{9^9}}`, `100000!`) are replaced by opaque symbols before
sympy evaluates anything, so `x - x + 10` cancels cheaply and nothing explodes.
"""

from __future__ import annotations

import math
from fractions import Fraction

import sympy
from sympy import Basic, Eq, FiniteSet, Interval, MatrixBase, Rel, S, Symbol, Tuple, Union

from verifiers.math.parse import Answer, literal_verdict, terminates

_MAX_DIGITS = 5000  # an integer bigger than this is never built; it becomes a placeholder symbol
_REL_TOL = 1e-9  # for sampled function values only; numbers compare exactly (module docstring)
_EXACT_DIGITS = 50
# Sample points for functions: negative, fractional and positive, so |x| and x, or ln|x| and ln x, differ,
# and one integer, where `\\lfloor x \\rfloor` and `\\lceil x \\rceil - 1` differ.
_POINTS = [sympy.Rational(p, 100) for p in (137, -61, 300, 229, -243, 71, -17)]
_AGREE = 5  # points that must agree (two negative, one integer) before two functions count as equal
_ALIASES = {Symbol("i"): sympy.I, Symbol("e"): sympy.E, Symbol("pi"): sympy.pi}


def _digits(x: Basic) -> float:
    """An upper bound on log10|x| for a numeric tree, computed without evaluating it."""
    if x.is_Integer or x.is_Rational:
        p, q = abs(int(x.p)), abs(int(x.q))
        return max(len(str(p)) if p < 10**50 else math.log10(p), len(str(q)))
    if x.is_Float:
        return max(0.0, math.log10(abs(float(x)) + 1))
    if x.is_Pow:
        base, exp = x.args
        if base.free_symbols or exp.free_symbols:
            return 0.0
        exp_digits = _digits(exp)
        if exp_digits > 8:
            return math.inf
        try:
            ev = abs(complex(exp.evalf(15)))
        except (TypeError, ValueError):
            return math.inf
        return ev * max(_digits(base), 0.0)
    if isinstance(x, sympy.exp):  # `e^{e^{e^{e^{e}}}}` is exp(exp(...)), not a power
        (arg,) = x.args
        if arg.free_symbols:
            return 0.0
        if _digits(arg) > 8:
            return math.inf
        try:
            return abs(complex(arg.evalf(15))) * math.log10(math.e)
        except (TypeError, ValueError, OverflowError):
            return math.inf
    if isinstance(x, sympy.factorial | sympy.gamma):
        n_digits = _digits(x.args[0])
        if n_digits > 6:
            return math.inf
        try:
            n = abs(float(x.args[0].evalf(15)))
        except (TypeError, ValueError):
            return math.inf
        return n * math.log10(n + 1)
    if x.is_Mul:
        return sum(_digits(a) for a in x.args)
    if not x.args:
        return 0.0
    return max(_digits(a) for a in x.args if isinstance(a, Basic)) + 1 if x.args else 0.0


def defuse(expr):
    """Replace numeric subtrees too big to build with placeholder symbols (equal trees, equal symbol)."""
    if not isinstance(expr, Basic):
        return expr
    found: dict[Basic, Symbol] = {}

    def walk(node: Basic) -> None:
        if not isinstance(node, Basic):
            return
        if node.is_Pow or isinstance(node, sympy.factorial | sympy.gamma | sympy.exp):
            if not node.free_symbols and _digits(node) > _MAX_DIGITS:
                found[node] = Symbol(f"huge_{len(found)}_{abs(hash(sympy.srepr(node))) % 10**8}")
                return
            if (
                node.is_Pow
                and node.args[1].is_Number
                and abs(node.args[1]) > 1000
                and node.args[0].free_symbols
            ):
                found[node] = Symbol(f"huge_{len(found)}_{abs(hash(sympy.srepr(node))) % 10**8}")
                return
        for a in node.args:
            walk(a)

    walk(expr)
    if not found:
        return expr
    return expr.xreplace(found)


def _is_name(x: Basic) -> bool:
    """A left-hand side that only names the answer: `x`, `f(x)`, `a_3`, `|AB|`, `A:B`, `p,q`."""
    if isinstance(x, Symbol):
        return True
    if isinstance(x, sympy.core.function.AppliedUndef | sympy.Abs):
        return True
    if x.is_Pow:
        return _is_name(x.args[0]) and x.args[1].is_Integer
    if x.is_Mul or isinstance(x, Tuple | FiniteSet):
        return all(_is_name(a) or (a.is_Number and a in (1, -1)) for a in x.args)
    return False


def _same_name(x: Basic, y: Basic) -> bool:
    return x == y or str(x) == str(y)


def _named_values(x) -> list | None:
    """`x=1, y=2` (a set of `name = value`) in the order written; None for anything else."""
    if isinstance(x, FiniteSet | Tuple):
        items = list(getattr(x, "_unsorted_args", x.args))
        if len(items) > 1 and all(isinstance(i, Eq) and _is_name(i.lhs) for i in items):
            return items
    return None


def _chain_last(x):
    """`x = 5+5+1 = 7 = 11` parses as a conjunction of equalities; it names x and its value is 11."""
    if isinstance(x, sympy.And):
        parts = list(getattr(x, "_unsorted_args", x.args))
        if parts and all(isinstance(p, Eq) for p in parts):
            sides = [parts[0].lhs] + [p.rhs for p in parts]
            name = next((x for x in sides[:-1] if _is_name(x)), sides[0])
            return Eq(name, sides[-1], evaluate=False)
    if isinstance(x, sympy.matrices.expressions.MatrixExpr) and not isinstance(x, MatrixBase):
        try:
            return x.doit()
        except Exception:
            return x
    return x


def _numeric_close(a: Basic, b: Basic) -> bool | None:
    """Close as numbers (None if either has no numeric value)."""
    try:
        va, vb = complex(a.evalf(30)), complex(b.evalf(30))
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return None
    if any(math.isnan(v.real) or math.isnan(v.imag) for v in (va, vb)):
        return None
    if any(math.isinf(v.real) or math.isinf(v.imag) for v in (va, vb)):
        return a == b
    return abs(va - vb) <= _REL_TOL * max(1.0, abs(va), abs(vb))


def _has_float(x: Basic) -> bool:
    return any(n.is_Float for n in sympy.preorder_traversal(x))


_UNEVALUATED = (sympy.Sum, sympy.Product, sympy.Integral, sympy.Limit, sympy.Derivative)


def _aliased(x: Basic) -> Basic:
    """A free `i`, `e`, `pi` is the constant; a summation index `i` stays a variable (`\\sum_{i=1}^n i^2`)."""
    names = {s: v for s, v in _ALIASES.items() if s in x.free_symbols}
    return x.xreplace(names) if names else x


def _scalar_equal(g: Basic, a: Basic) -> bool:
    if g == a or sympy.srepr(g) == sympy.srepr(a):  # same tree: same names, same structure
        return True
    g, a = _aliased(g), _aliased(a)
    if g == a:
        return True
    if g in (S.Infinity, S.NegativeInfinity, S.ComplexInfinity) or a in (
        S.Infinity,
        S.NegativeInfinity,
        S.ComplexInfinity,
    ):
        return False
    free = g.free_symbols | a.free_symbols
    if not free:
        return _constants_equal(g, a)
    if g.has(*_UNEVALUATED) or a.has(*_UNEVALUATED):
        # Numeric evaluation of a symbolic sum or integral runs Euler-Maclaurin or quadrature: seconds.
        try:
            return sympy.simplify(g - a) == 0
        except Exception:
            return False
    syms = sorted(free, key=str)
    agreed = 0
    for i in range(len(_POINTS)):
        if agreed >= _AGREE:
            return True
        # Each unknown gets its own sequence of points, so `x + y` and `x + z` differ too.
        point = {s: _POINTS[(i + 3 * k) % len(_POINTS)] for k, s in enumerate(syms)}
        try:
            close = _numeric_close(g.subs(point), a.subs(point))
        except Exception:
            close = None
        if close is False:
            return False
        agreed += close is True
    if agreed >= _AGREE:
        return True
    try:
        return sympy.simplify(g - a) == 0
    except Exception:
        return False


def _constants_equal(g: Basic, a: Basic) -> bool:
    """Two numbers without unknowns, compared exactly (module docstring)."""
    if g.is_Rational and a.is_Rational:
        return g == a
    if _has_float(g) or _has_float(a):
        return bool(_numeric_close(g, a))  # a float from the parser itself: tolerance is all there is
    try:
        # evalf finds the significant digits of the difference however small it is (2^-200, 10^-80);
        # a difference that is exactly zero comes back as 0 or as a float without one significant bit.
        # simplify() on nested radicals can take seconds; this takes microseconds.
        diff = (g - a).evalf(_EXACT_DIGITS)
        if diff == 0:
            return True
        if not (diff.is_number and diff.is_finite):
            return False
        return all(_no_digits(part) for part in diff.as_real_imag())
    except (TypeError, ValueError, OverflowError, ZeroDivisionError, AttributeError):
        return False


def _no_digits(x: Basic) -> bool:
    """A zero, or a float without a single significant bit (evalf's answer for an exact zero)."""
    return x == 0 or (x.is_Float and x._prec < 8)


def rounds_to(gold: Basic, decimals: int, value: Basic) -> bool:
    """Whether an exact `value` lies within half a unit of the last digit of a decimal `gold`.

    A value with a finite decimal expansion (`\\frac{49}{20}`, `\\frac{333}{1000}`) is a decimal written
    another way and compares exactly, as a decimal answer does: only values a decimal cannot write
    (irrationals, non-terminating rationals) are read against the gold's rounding.
    """
    if not isinstance(value, Basic) or value.free_symbols or value.is_Boolean:
        return False
    try:
        diff = abs((value - gold).evalf(60))
        if not (diff.is_number and diff <= sympy.Rational(1, 2) * sympy.Integer(10) ** (-decimals)):
            return False
        return not _finite_decimal(value)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError, AttributeError):
        return False


def _finite_decimal(value: Basic, places: int = 30) -> bool:
    """Whether `value` is a decimal of at most `places` digits after the point, to 60 digits' precision."""
    if value.is_Rational:
        return terminates(Fraction(int(value.p), int(value.q)))
    v = value.evalf(60)
    if not v.is_real:
        return False
    scaled = v * sympy.Integer(10) ** places
    return abs(scaled - sympy.Integer(round(scaled))) < sympy.Integer(10) ** (-15)


def _rel_normal(r: Rel) -> tuple[Basic, bool]:
    """An inequality as (`expr`, strict) meaning `expr > 0` or `expr >= 0`."""
    if r.rel_op in (">", ">="):
        return r.lhs - r.rhs, r.rel_op == ">"
    return r.rhs - r.lhs, r.rel_op == "<"


def _same_relation(g: Rel, a: Rel) -> bool:
    if g.rel_op in ("==", "!=") or a.rel_op in ("==", "!="):
        if g.rel_op != a.rel_op:
            return False
        dg, da = g.lhs - g.rhs, a.lhs - a.rhs
        return _proportional(dg, da, positive=False)
    (eg, sg), (ea, sa) = _rel_normal(g), _rel_normal(a)
    return sg == sa and _proportional(eg, ea, positive=True)


def _proportional(x: Basic, y: Basic, positive: bool) -> bool:
    """`x = c*y` for a nonzero constant c (positive when an inequality's direction must hold)."""
    if _scalar_equal(x, y):
        return True
    if _ratio_varies(x, y):
        return False  # no constant c: the simplification below would only take longer to say so
    try:
        ratio = sympy.simplify(x / y)
    except Exception:
        return False
    if ratio.free_symbols or ratio == 0 or not ratio.is_finite:
        return False
    return bool(ratio.is_positive) if positive else bool(ratio.is_nonzero)


def _ratio_varies(x: Basic, y: Basic) -> bool:
    """Whether `x/y` takes two clearly different finite values at the sample points (so it is no constant)."""
    syms = sorted(x.free_symbols | y.free_symbols, key=str)
    if not syms or x.has(*_UNEVALUATED) or y.has(*_UNEVALUATED):
        return False  # evaluating a symbolic sum or integral at a point costs more than it saves
    first, tried = None, 0
    for i in range(len(_POINTS)):
        if tried == 3:
            break  # three agreeing values: likely proportional, which only simplify can prove
        point = {s: _POINTS[(i + 3 * k) % len(_POINTS)] for k, s in enumerate(syms)}
        try:
            vx, vy = complex(x.subs(point).evalf(30)), complex(y.subs(point).evalf(30))
        except Exception:  # noqa: S112 - no value at this point: it decides nothing, simplify still may
            continue
        if vy == 0 or not all(math.isfinite(v) for v in (vx.real, vx.imag, vy.real, vy.imag)):
            continue
        ratio, tried = vx / vy, tried + 1
        if first is None:
            first = ratio
        elif abs(ratio - first) > 1e-6 * max(1.0, abs(ratio), abs(first)):
            return True
    return False


def _interval_of(x: Basic, sym: Symbol):
    """`sym > 3`, `-2 < sym <= 5`, `1 <= |sym| < 2`, or an Or of such, as a set of reals without sympy's
    solver; else None."""
    if isinstance(x, sympy.And | sympy.Or):
        parts = [_interval_of(p, sym) for p in x.args]
        if any(p is None for p in parts):
            return None
        return sympy.Intersection(*parts) if isinstance(x, sympy.And) else sympy.Union(*parts)
    if not isinstance(x, Rel) or x.rel_op not in ("<", "<=", ">", ">="):
        return None
    lhs, rhs, op = x.lhs, x.rhs, x.rel_op
    if rhs in (sym, sympy.Abs(sym)) and lhs not in (sym, sympy.Abs(sym)):
        lhs, rhs, op = rhs, lhs, {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
    if lhs not in (sym, sympy.Abs(sym)) or not (rhs.is_number and rhs.is_extended_real and rhs.is_finite):
        return None
    if lhs != sym:  # |sym| against a positive bound: one interval, or the outside of one
        if not rhs.is_positive:
            return None
        if op in ("<", "<="):
            return Interval(-rhs, rhs, op == "<", op == "<")
        return sympy.Union(
            Interval(S.NegativeInfinity, -rhs, right_open=op == ">"),
            Interval(rhs, S.Infinity, left_open=op == ">"),
        )
    if op in ("<", "<="):
        return Interval(S.NegativeInfinity, rhs, right_open=op == "<")
    return Interval(rhs, S.Infinity, left_open=op == ">")


def _unknowns(x: Basic) -> set[str]:
    """The names a relation bounds: its function values (`f(x)`) if any, else its free symbols."""
    return {str(u) for u in (x.atoms(sympy.core.function.AppliedUndef) or x.free_symbols)}


def _as_set(x: Basic):
    """An inequality in one unknown as a set of reals (`x >= 5` -> [5, oo)); None if not that."""
    if isinstance(x, Rel | sympy.And | sympy.Or):
        # `0 < f(x) < 1`, `1 <= |z| <= 3/2`: the unknown may be a function value or an absolute value.
        unknowns = x.atoms(sympy.core.function.AppliedUndef) or x.free_symbols
        if len(unknowns) != 1:
            return None
        (sym,) = unknowns
        real = Symbol("r_", real=True)
        try:
            x = x.xreplace({sym: real})
            # Bounds on the unknown itself need no solver (sympy's as_set takes ~50 ms for `a < x < b`).
            try:
                simple = _interval_of(x, real)
            except Exception:  # a shortcut that cannot read the relation leaves it to the solver
                simple = None
            return simple if simple is not None else x.as_set()
        except Exception:
            return None
    if isinstance(x, sympy.Contains) or (isinstance(x, Eq) and isinstance(x.rhs, sympy.Set)):
        return x.args[1] if isinstance(x, sympy.Contains) else x.rhs
    return None


def _elements(x) -> list | None:
    """The ordered elements of a tuple-like object (a 2-element open interval reads as a pair)."""
    if isinstance(x, Tuple):
        return list(x.args)
    if isinstance(x, FiniteSet):
        return list(getattr(x, "_unsorted_args", x.args))
    if isinstance(x, Interval) and x.left_open and x.right_open:
        return [x.start, x.end]
    return None


def _sets_equal(g: list, a: list) -> bool:
    if len(g) != len(a):
        return False
    left = list(a)
    for item in g:
        for k, cand in enumerate(left):
            if objects_equal(item, cand):
                del left[k]
                break
        else:
            return False
    return True


def objects_equal(g, a) -> bool:
    """Whether two sympy objects (numbers, sets, tuples, intervals, relations, matrices) are equal."""
    g, a = _chain_last(g), _chain_last(a)
    if isinstance(g, MatrixBase) or isinstance(a, MatrixBase):
        if not (isinstance(g, MatrixBase) and isinstance(a, MatrixBase)):
            inner = a if isinstance(g, MatrixBase) else g
            if isinstance(inner, Tuple) and len(inner.args) == 1:
                return objects_equal(
                    g if isinstance(g, MatrixBase) else g.args[0],
                    a if isinstance(a, MatrixBase) else a.args[0],
                )
            return False
        return g.shape == a.shape and all(objects_equal(x, y) for x, y in zip(g, a, strict=True))
    if isinstance(g, Eq) and not isinstance(a, Eq):
        return _is_name(g.lhs) and objects_equal(g.rhs, a)
    if isinstance(a, Eq) and not isinstance(g, Eq):
        # `x = 5` answers 5; so does a worked line `1/2 + 7/18 = 10/9`, whose value is its last side.
        return objects_equal(g, a.rhs)
    if isinstance(g, Eq) and isinstance(a, Eq):
        # Each `name = value` must meet the same name: `x = 7` is not `y = 7`, `(y,x)=(1,2)` not `(x,y)=(1,2)`.
        if _is_name(g.lhs) and _is_name(a.lhs) and _same_name(g.lhs, a.lhs):
            if objects_equal(g.rhs, a.rhs):
                return True
            if not g.lhs.free_symbols & (g.rhs.free_symbols | a.rhs.free_symbols):
                return False  # `F = u` and `F = v` with F in neither value are one relation only if u = v
        if isinstance(g.rhs, sympy.Set) or isinstance(a.rhs, sympy.Set):
            return False
        try:
            return _same_relation(g, a)
        except Exception:
            return False
    named = _named_values(g)
    if named is not None and _named_values(a) is None and isinstance(a, FiniteSet | Tuple):
        # Bare values against named ones answer them in the order the gold names them.
        values = list(getattr(a, "_unsorted_args", a.args))
        return len(values) == len(named) and all(
            objects_equal(n, v) for n, v in zip(named, values, strict=True)
        )
    if isinstance(g, sympy.Set) or isinstance(a, sympy.Set):
        return _set_like_equal(g, a)
    if isinstance(g, Tuple) or isinstance(a, Tuple):
        eg, ea = _elements(g), _elements(a)
        return (
            eg is not None
            and ea is not None
            and len(eg) == len(ea)
            and all(objects_equal(x, y) for x, y in zip(eg, ea, strict=True))
        )
    if isinstance(g, Rel | sympy.And | sympy.Or) or isinstance(a, Rel | sympy.And | sympy.Or):
        if isinstance(g, Rel) and isinstance(a, Rel):
            return _same_relation(g, a)
        logic = Rel | sympy.And | sympy.Or
        if isinstance(g, logic) and isinstance(a, logic) and _unknowns(g) != _unknowns(a):
            return False  # `0 < y < 1` does not bound x, nor `0 < g(x) < 1` f(x)
        sg, sa = _as_set(g), _as_set(a)
        return sg is not None and sa is not None and sg == sa
    if (
        isinstance(g, Basic)
        and isinstance(a, Basic)
        and g.is_Boolean is not True
        and a.is_Boolean is not True
    ):
        return _scalar_equal(g, a)
    return False


def _set_like_equal(g, a) -> bool:
    if isinstance(g, FiniteSet) and isinstance(a, FiniteSet):
        return _sets_equal(list(g.args), list(a.args))
    if isinstance(g, Interval) and isinstance(a, Interval):
        return (
            g.left_open == a.left_open
            and g.right_open == a.right_open
            and objects_equal(g.start, a.start)
            and objects_equal(g.end, a.end)
        )
    # A point written (1, 2) parses as an open interval; against a tuple or list it is a pair.
    eg, ea = _elements(g), _elements(a)
    if (
        eg is not None
        and ea is not None
        and (isinstance(g, Tuple | Interval) or isinstance(a, Tuple | Interval))
    ):
        return len(eg) == len(ea) and all(objects_equal(x, y) for x, y in zip(eg, ea, strict=True))
    if isinstance(g, Union) and isinstance(a, Union):
        return _sets_equal(list(g.args), list(a.args))
    if g is S.EmptySet or a is S.EmptySet:
        return g == a
    sg = g if isinstance(g, sympy.Set) else _as_set(g)
    sa = a if isinstance(a, sympy.Set) else _as_set(a)
    if sg is None or sa is None:
        return False
    try:
        return bool(sg == sa or sympy.simplify(sg.symmetric_difference(sa)) is S.EmptySet)
    except Exception:
        return False


def _scaled(x, percent: bool) -> list:
    """A number with a percent sign, as written and as a fraction (50% answers 50 and 1/2)."""
    if percent and isinstance(x, Basic) and not isinstance(x, sympy.Set | Rel) and not x.free_symbols:
        return [x, x / 100]
    return [x]


def answers_equal(gold: Answer, ans: Answer) -> bool:
    """The verdict for a parsed gold and a parsed answer."""
    verdict = literal_verdict(gold, ans)
    if verdict is not None:
        return verdict
    # A set written with braces is not the ordered pair or interval written with parentheses.
    braced = ("\\{" in gold.text, "\\{" in ans.text)
    if braced[0] != braced[1] and (gold.text if braced[1] else ans.text).lstrip().startswith(("(", "[")):
        return False
    places = gold.decimals
    rounded = places is not None and ans.decimals is None and _significant(gold.text) >= 2
    both = gold.percent and ans.percent  # 0.5% is not 50%: the same sign on both sides is no unit to drop
    for g in gold.exprs:
        for a in ans.exprs:
            if _restates(g, a):
                continue
            g0, a0 = defuse(g), defuse(a)
            for gv in _scaled(g0, gold.percent and not both):
                for av in _scaled(a0, ans.percent and not both):
                    if objects_equal(gv, av):
                        return True
                    if rounded and places is not None and isinstance(av, Basic) and rounds_to(gv, places, av):
                        return True
    return False


def _restates(g, a) -> bool:
    """An answer that still holds a sum, product, integral, limit or derivative the gold has evaluated.

    `\\int_0^1 x^2\\,dx` for 1/3 or `\\sum_{k=1}^{n} k` for n(n+1)/2 copies the question instead of
    answering it, so it scores 0 however equal its value is.
    """
    return (
        isinstance(a, Basic) and a.has(*_UNEVALUATED) and not (isinstance(g, Basic) and g.has(*_UNEVALUATED))
    )


def _significant(decimal: str) -> int:
    """Significant digits of a plain decimal (`0.0250` has 3)."""
    return len(decimal.lstrip("-").replace(".", "").lstrip("0"))
