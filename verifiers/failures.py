"""Count rewards that could not be computed, so a trainer can log them per step instead of scoring 0.

A reward function that cannot score a row (unparseable gold, sandbox down, reward-model server error)
returns None for it and calls `record`. The trainer calls `drain` once per step and logs
`rewards/<name>/failed`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

log = logging.getLogger("verifiers")
_lock = threading.Lock()
_counts: Counter[str] = Counter()
_notes: Counter[tuple[str, str]] = Counter()


def record(reward: str, reason: str, n: int = 1) -> None:
    """Count `n` failed rows of reward function `reward` (its __name__) and log why."""
    with _lock:
        _counts[reward] += n
    log.warning("reward %s could not score %d row(s): %s", reward, n, reason)


def note(reward: str, kind: str, n: int = 1) -> None:
    """Count `n` rows of `reward` that were scored but deserve watching (e.g. `wrong_language`).

    Unlike `record` these are not failures; the trainer logs `rewards/<name>/<kind>` per step (n=0
    still logs the kind, so its curve has every step).
    """
    with _lock:
        _notes[(reward, kind)] += n


def drain_notes() -> dict[tuple[str, str], int]:
    """Notes per (reward function, kind) since the last drain; resets them."""
    with _lock:
        out = dict(_notes)
        _notes.clear()
    return out


def drain() -> dict[str, int]:
    """Failures per reward function since the last drain; resets the counts."""
    with _lock:
        out = dict(_counts)
        _counts.clear()
    return out
