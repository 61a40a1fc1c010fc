"""Benchmark: our `verify_batch` against math-verify (the peer) on math-verify's own suite, one run.

Prints both accuracies, wall and CPU times, and math-verify's time over ours (higher is better for us).
Our workers start warm (the forkserver reads `verifiers.math.warmup` before forking, untimed), so
math-verify reads the same pairs and shapes first, untimed: the ratio compares both in the steady state a
training run sees. `--cold-peer` times math-verify from a cold start (a ratio that flatters us).
`python -m verifiers.math.bench --help`.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from verifiers.jsonl import read_jsonl

SUITES = ("math_verify_0.9.0_cases", "qwen25math_math_cot_100_cases")


def load(data: Path) -> list[dict]:
    rows = []
    for name in SUITES:
        rows += [r for r in read_jsonl(data / f"{name}.jsonl") if not r.get("flags")]
    return rows


def run_ours(rows: list[dict], workers: int, timeout_s: float) -> tuple[list[bool], float, float, int]:
    """Our answers, wall seconds, CPU seconds (caller + workers) and workers killed for overrunning."""
    from verifiers.math.verify import verify_batch
    from verifiers.math.workers import get_pool

    pool = get_pool()
    pool.warm(workers)  # start the pool outside the timed region, as a trainer's first step does
    deadline = time.monotonic() + 120
    while len(pool._idle) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    killed, cpu0, own0 = pool.killed, pool.cpu_seconds(), time.process_time()
    t = time.perf_counter()
    got = verify_batch([r["gold"] for r in rows], [r["prediction"] for r in rows], timeout_s, workers)
    wall = time.perf_counter() - t
    cpu = pool.cpu_seconds() - cpu0 + time.process_time() - own0
    return got, wall, cpu, pool.killed - killed


def run_peer(rows: list[dict], warm: bool = False) -> tuple[list[bool], float, float]:
    """The peer's answers (library defaults: parse both, verify), wall seconds and CPU seconds.

    With `warm`, the peer first reads what our workers read before their first task (untimed), so both
    sides start with the same LaTeX parser tables and sympy caches: a steady-state comparison.
    """
    from math_verify import parse, verify

    parse("1"), verify(parse("1"), parse("1"))  # import-time work outside the timed region
    if warm:
        import verifiers.math.worker  # noqa: F401 - importing it also warms the shared LaTeX parser here
        from verifiers.math.warmup import SHAPES, WARM_UP

        for gold, answer in WARM_UP:
            try:
                verify(parse(f"${gold}$"), parse(f"${answer}$"))
            except Exception:  # noqa: S112 - a warm-up miss only costs the peer speed
                continue
        for shape in SHAPES:
            try:
                parse(f"${shape}$")
            except Exception:  # noqa: S112 - as above
                continue
    got = []
    t, own0 = time.perf_counter(), time.process_time()
    for r in rows:
        try:
            got.append(bool(verify(parse(r["gold"]), parse(r["prediction"]))))
        except Exception:
            got.append(False)
    return got, time.perf_counter() - t, time.process_time() - own0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="folder with the suite .jsonl files")
    ap.add_argument("--workers", type=int, default=2, help="worker processes for ours (default 2)")
    ap.add_argument("--timeout", type=float, default=5.0, help="per-case timeout in seconds for ours")
    ap.add_argument(
        "--cold-peer",
        action="store_true",
        help="skip math-verify's untimed warm-up on what our workers read before their first task",
    )
    args = ap.parse_args(argv)
    if args.data is None:
        from rl.eval.suites import data_dir

        args.data = data_dir() / "math_verify_suite"
    if not args.data.is_dir():
        ap.error(f"no suite folder at {args.data}; pass --data PATH/math_verify_suite")
    rows = load(args.data)
    ours, t_ours, cpu_ours, killed = run_ours(rows, args.workers, args.timeout)
    peer, t_peer, cpu_peer = run_peer(rows, warm=not args.cold_peer)
    expected = [bool(r["expected"]) for r in rows]
    table = Table(
        title=f"math verification, {len(rows)} cases (math-verify suite + Qwen2.5-Math completions)"
    )
    for col in ("checker", "accuracy", "wall s", "CPU s", "cases over timeout"):
        table.add_column(col)

    def acc(got: list[bool]) -> str:
        return f"{sum(g == e for g, e in zip(got, expected, strict=True)) / len(rows):.4f}"

    table.add_row(
        f"ours (verify_batch, {args.workers} workers)",
        acc(ours),
        f"{t_ours:.2f}",
        f"{cpu_ours:.2f}",
        str(killed),
    )
    table.add_row("math-verify 0.9.0 (serial)", acc(peer), f"{t_peer:.2f}", f"{cpu_peer:.2f}", "-")
    Console().print(table)
    warm = (
        "both warmed on the same pairs and shapes"
        if not args.cold_peer
        else "ours with its workers' warm-up, math-verify cold"
    )
    print(
        f"math-verify's time / ours on these {len(rows)} cases ({warm}): "
        f"CPU {cpu_peer / max(cpu_ours, 1e-9):.2f}x (target >= 3x), wall {t_peer / t_ours:.2f}x"
    )
    print(f"machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
