"""Assert mode's two processes: the program serves calls, the test's check() calls it from elsewhere.

The program runs in one process (the slot's uid) and serves calls; check() runs in another (a second
uid, not dumpable), calling the program's functions through a socket. Values cross as tagged JSON of
builtin types only, so nothing the program does (exiting early, patching builtins, walking frames,
writing to any descriptor) can make check() return in the checker's process. The program works on
copies of check()'s arguments, so a test of an in-place change cannot pass: no dataset the project uses
has one (docs/http-api.md says which were checked).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import traceback
from collections.abc import Callable
from typing import Any

from sandbox.framing import read_fd, write_fd

PRISTINE_BUILTINS = tuple(vars(builtins).items())  # taken before any program runs
_PLAIN_SCALARS = (bool, int, float, complex, str, bytes, type(None))
Report = Callable[..., None]
# What a class is, read through `type`'s own descriptors (bound here, before any program runs): a metaclass
# can fake `__module__` or `__flags__` as attributes of its classes, never what these return.
_FLAGS = type.__dict__["__flags__"].__get__
_MODULE = type.__dict__["__module__"].__get__
_NAME = type.__dict__["__name__"].__get__
_MRO = type.__dict__["__mro__"].__get__
_TYPE_ATTRIBUTE = type.__getattribute__
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: every class a `class` statement or `type()` makes has it
_NUMPY_BASES = (("numpy", "ndarray"), ("numpy", "generic"))


def _is_numpy(t: type) -> bool:
    """Whether `t` is exactly one of numpy's own array or scalar types (`ndarray`, `int64`, `bool`, ...).

    numpy defines those in C: they are static, immutable types (no program can set their `tolist`), while
    every class a program writes is a heap type, whatever it calls itself. Subclasses of `ndarray`
    (`np.matrix`, masked arrays, a program's own) are heap types too, and so are not numpy values here.
    """
    if type(t) is not type or _FLAGS(t) & _HEAPTYPE or _MODULE(t) != "numpy":
        return False
    return any((_MODULE(b), _NAME(b)) in _NUMPY_BASES for b in _MRO(t))


def plain(value: Any, depth: int = 0) -> Any:
    """Rebuild a returned value from builtin types only, so no method of the program's can lie.

    numpy's own arrays and scalars become their natural value, `tolist()` (an `int64` is an int, a
    `numpy.bool` a bool, an array nested lists), taken through numpy's C method, never the value's own.
    """
    if depth > 100:
        raise TypeError("returned value nests too deeply")
    t = type(value)
    if t in _PLAIN_SCALARS:
        return value
    if _is_numpy(t):
        return plain(_TYPE_ATTRIBUTE(t, "tolist")(value), depth + 1)
    scalars: tuple[tuple[type, Callable[[Any], Any]], ...] = (
        (int, int.__int__),
        (float, float.__float__),
        (str, str.__str__),
        (bytes, bytes.__bytes__),
    )
    for scalar, conv in scalars:
        if isinstance(value, scalar) and not isinstance(value, bool):
            return conv(value)
    if isinstance(value, list | tuple | set | frozenset):
        base: Any = next(b for b in (list, tuple, set, frozenset) if isinstance(value, b))
        return base(plain(v, depth + 1) for v in base.__iter__(value))
    if isinstance(value, dict):
        return {plain(k, depth + 1): plain(v, depth + 1) for k, v in dict.items(value)}
    raise TypeError(f"returned a {t.__name__}, not a builtin value")


def enc(v: Any) -> Any:
    """Tag a builtin value so its exact type survives JSON (floats by repr, tuples and sets tagged)."""
    t = type(v)
    if v is None or t in (bool, int, str):
        return v
    if t is float:
        return {"f": repr(v)}
    if t is list:
        return [enc(x) for x in v]
    if t in (tuple, set, frozenset):
        tags: dict[type, str] = {tuple: "t", set: "s", frozenset: "fs"}
        return {tags[t]: [enc(x) for x in v]}
    if t is dict:
        return {"d": [[enc(k), enc(x)] for k, x in v.items()]}
    if t is bytes:
        return {"b": v.hex()}
    if t is complex:
        return {"c": [repr(v.real), repr(v.imag)]}
    raise TypeError(f"a {t.__name__} cannot pass between the program and its test")


def dec(v: Any) -> Any:
    """The inverse of `enc`."""
    if isinstance(v, list):
        return [dec(x) for x in v]
    if not isinstance(v, dict):
        return v
    ((tag, x),) = v.items()
    if tag == "f":
        return float(x)
    if tag in ("t", "s", "fs"):
        return {"t": tuple, "s": set, "fs": frozenset}[tag](dec(i) for i in x)
    if tag == "d":
        return {dec(k): dec(i) for k, i in x}
    if tag == "b":
        return bytes.fromhex(x)
    if tag == "c":
        return complex(float(x[0]), float(x[1]))
    raise ValueError(f"bad tag {tag!r}")


def serve_calls(glob: dict[str, Any], fd: int) -> None:
    """Program side: announce the program's names, then answer calls until the checker hangs up."""
    names: dict[str, Any] = {}
    for name, value in list(glob.items()):
        if name.startswith("__"):
            continue
        if callable(value):
            names[name] = ["fn", None]
        else:
            with contextlib.suppress(Exception):
                names[name] = ["val", enc(plain(value))]
    write_fd(fd, {"names": names})
    while (msg := read_fd(fd)) is not None:
        try:
            fn = glob[msg["name"]]
            result = fn(*dec(msg["args"]), **dec(msg["kwargs"]))
            reply = {"ok": enc(plain(result))}
        except BaseException as e:
            reply = {"err": type(e).__name__, "msg": str(e)[:300]}
        write_fd(fd, reply)


def read_test(fd: int) -> str:
    """The test's source, from the descriptor only the checker holds (see `sandbox.worker`)."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8")


def run_check(req: dict[str, Any], report: Report, rpc: int, test: int) -> None:
    """Checker side: run the test's check() against proxies of the program's functions.

    check()'s globals are the pristine builtins, the program's own names except any that would shadow a
    builtin, then the test's names (a HumanEval test carries its prompt's helpers, such as `encode_cyclic`:
    `sandbox.formats.from_humaneval`), so what the test defines is the dataset's, never the program's.
    A program's StopIteration reaches check() as RuntimeError, as PEP 479 does for generators: raised inside
    `all(map(...))`, it would end the iteration early and pass the test vacuously.
    """
    fd = rpc
    try:
        source = read_test(test)
        hello = read_fd(fd)
        if hello is None:
            report("runtime_error", error="the program exited before the test ran")
            return
        pristine = dict(PRISTINE_BUILTINS)

        def proxy(name: str) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                write_fd(fd, {"name": name, "args": enc(list(args)), "kwargs": enc(dict(kwargs))})
                reply = read_fd(fd)
                if reply is None:
                    raise RuntimeError("the program exited during the test")
                if "err" in reply:
                    exc = pristine.get(reply["err"])
                    if not (isinstance(exc, type) and issubclass(exc, Exception)) or issubclass(
                        exc, StopIteration | StopAsyncIteration
                    ):
                        exc = RuntimeError
                    raise exc(reply["msg"])
                return dec(reply["ok"])

            call.__name__ = name
            return call

        ns: dict[str, Any] = {"__name__": "__check__", "__builtins__": pristine}
        for name, (kind, value) in hello["names"].items():
            if name in pristine:  # `abs`, `range`, `all`, ... defined by the program stay the builtins
                continue
            ns[name] = proxy(name) if kind == "fn" else dec(value)
        entry = req["entry_point"]
        if hello["names"].get(entry, [None])[0] != "fn":
            report("runtime_error", error=f"the program defines no function {entry!r}")
            return
        exec(compile(source, "test.py", "exec"), ns)  # noqa: S102 - the dataset's test code
        ns["check"](proxy(entry))
    except MemoryError:
        report("memory_limit")
        return
    except BaseException as e:
        with contextlib.suppress(BaseException):
            traceback.print_exc(limit=-3)
        report("runtime_error", error=f"{type(e).__name__}: {str(e)[:300]}")
        return
    report("ok")
