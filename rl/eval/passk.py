"""pass@k: the unbiased estimator and the per-suite aggregate every evaluation reports."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# A sample counts as solved when its score reaches 1: the right answer, all tests pass, all instructions followed
# (IFEval's strict prompt-level accuracy), the right calls.
SOLVED = 1.0 - 1e-9


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al. 2021): 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    # The product form avoids huge binomials: C(n-c, k)/C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i).
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def k_values(samples: int) -> list[int]:
    """1, 2, 4, ... up to `samples`, and `samples` itself."""
    ks = [k for k in (2**i for i in range(samples.bit_length())) if k <= samples]
    return ks + ([samples] if samples not in ks else [])


def aggregate(per_row: Sequence[Sequence[float | None]], samples: int) -> dict[str, Any]:
    """pass@1 (mean over rows of the solved fraction of their samples), pass@k, mean score, counts."""
    solved, scored, means = [], [], []
    for values in per_row:
        valid = [v for v in values if v is not None]
        if valid:
            scored.append(len(valid))
            solved.append(sum(v >= SOLVED for v in valid))
            means.append(sum(valid) / len(valid))
    n = len(scored)
    result: dict[str, Any] = {"pass@1": None, "n": n, "samples": samples, "unscored": len(per_row) - n}
    if n:
        result["pass@1"] = sum(c / m for c, m in zip(solved, scored, strict=True)) / n
        for k in k_values(samples)[1:]:
            rows_k = [(m, c) for m, c in zip(scored, solved, strict=True) if m >= k]
            if rows_k:
                result[f"pass@{k}"] = sum(pass_at_k(m, c, k) for m, c in rows_k) / len(rows_k)
        result["mean_score"] = sum(means) / n
    return result
