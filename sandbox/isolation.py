"""How strongly a slot isolates its executions: decided once when the slot starts, reported by /health."""

from __future__ import annotations

import enum


class Level(enum.Enum):
    """What confines an execution besides rlimits; the value is the name /health reports."""

    NAMESPACES = "namespaces+uid+seccomp"  # root: private namespaces, a uid per slot, seccomp
    UID = "uid+seccomp"  # root, but namespaces refused (e.g. a container without CAP_SYS_ADMIN)
    SECCOMP = "seccomp (not root: no per-slot uid)"  # an ordinary user: seccomp and rlimits only

    @property
    def has_namespaces(self) -> bool:
        return self is Level.NAMESPACES

    def describe(self, cgroup: bool, pid_namespace: bool = False) -> str:
        """The /health string: the level, plus `+pidns` when executions die with their slot (a PID
        namespace of its own) and `+cgroup` when a per-slot cgroup bounds the execution."""
        return self.value + ("+pidns" if pid_namespace else "") + ("+cgroup" if cgroup else "")
