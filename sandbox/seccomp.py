"""The seccomp filter every executed program runs under: a short BPF program built from syscall names.

It refuses, with EPERM, what a judged program never needs and what could reach outside its slot:
debugging other processes, namespaces and mounts (by every route: unshare, setns, clone with a
namespace flag, clone3, whose flags a filter cannot read, answers ENOSYS so libc falls back to clone),
kernel keyrings and modules, BPF, perf and io_uring. Sockets: only local and IP families (which reach
nothing from the slot's empty network namespace), and none at all without one. No signal to every
process (kill(-1)) nor to the processes the execution runs beside (the slot worker, the server), which
matters where they share its uid (a server run without root). A syscall from another ABI kills the
process.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

from sandbox import syscalls

_LIBC = ctypes.CDLL(None, use_errno=True)

DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "bpf",
    "perf_event_open",
    "io_uring_setup",
    "userfaultfd",
    "add_key",
    "request_key",
    "keyctl",
    "io_uring_enter",
    "io_uring_register",
    "pivot_root",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "kexec_load",
    "init_module",
    "finit_module",
)

# classic BPF opcodes and seccomp return values
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL_PROCESS = 0x7FFF0000, 0x80000000
_ERRNO = 0x00050000
# offsets in struct seccomp_data
_NR, _ARCH, _ARG0_LOW = 0, 4, 16  # the low 32 bits of the first argument (little-endian machines)


def _ret_errno(err: int) -> tuple[int, int, int, int]:
    return (_RET_K, 0, 0, _ERRNO | err)


def _arg0_in(nr: int, values: list[int], err: int) -> list[tuple[int, int, int, int]]:
    """syscall `nr` fails with `err` when its first argument (low 32 bits) is one of `values`."""
    n = len(values)
    ins = [(_JEQ_K, 0, n + 3, nr), (_LD_W_ABS, 0, 0, _ARG0_LOW)]
    ins += [(_JEQ_K, n - i, 0, v & 0xFFFFFFFF) for i, v in enumerate(values)]
    return [*ins, (_RET_K, 0, 0, _ALLOW), _ret_errno(err)]


def program(
    deny_sockets: bool, protected: tuple[int, ...] = (), groups: tuple[int, ...] = ()
) -> bytes | None:
    """The filter as bytes of `struct sock_filter`, or None on an architecture without a syscall table.

    `protected`: pids no program may signal or open (its slot worker and the server); `groups`: process
    groups it may not signal (the server's).
    """
    machine = platform.machine()
    numbers = syscalls.table()
    if numbers is None:
        return None
    denied = [numbers[name] for name in DENIED]
    if deny_sockets:
        denied.append(numbers["socket"])
    ins = [
        (_LD_W_ABS, 0, 0, _ARCH),
        (_JEQ_K, 1, 0, syscalls.AUDIT_ARCH[machine]),
        (_RET_K, 0, 0, _KILL_PROCESS),
        (_LD_W_ABS, 0, 0, _NR),
    ]
    if machine == "x86_64":  # the x32 ABI would bypass the numbers below
        ins += [(_JGE_K, 0, 1, syscalls.X32_SYSCALL_BIT), _ret_errno(errno.EPERM)]
    for nr in denied:
        ins += [(_JEQ_K, 0, 1, nr), _ret_errno(errno.EPERM)]
    ins += [(_JEQ_K, 0, 1, numbers["clone3"]), _ret_errno(errno.ENOSYS)]
    pids = [p for p in protected if p > 0]
    targets = sorted({-1, *pids, *(-g for g in groups if g > 0), *(-p for p in pids)})
    ins += _arg0_in(numbers["kill"], targets, errno.EPERM)
    if pids:
        for name in ("tkill", "tgkill", "pidfd_open"):
            ins += _arg0_in(numbers[name], pids, errno.EPERM)
    # clone: refused when its flags ask for any new namespace
    ins += [
        (_JEQ_K, 0, 4, numbers["clone"]),
        (_LD_W_ABS, 0, 0, _ARG0_LOW),
        (_JSET_K, 0, 1, syscalls.CLONE_NEW_ANY),
        _ret_errno(errno.EPERM),
        (_RET_K, 0, 0, _ALLOW),
    ]
    if not deny_sockets:
        # socket: AF_UNIX, AF_INET, AF_INET6 only
        ins += [
            (_JEQ_K, 0, 6, numbers["socket"]),
            (_LD_W_ABS, 0, 0, _ARG0_LOW),
            (_JEQ_K, 3, 0, syscalls.AF_UNIX),
            (_JEQ_K, 2, 0, syscalls.AF_INET),
            (_JEQ_K, 1, 0, syscalls.AF_INET6),
            _ret_errno(errno.EAFNOSUPPORT),
            (_RET_K, 0, 0, _ALLOW),
        ]
    ins += [  # socketpair: AF_UNIX only (what multiprocessing and asyncio use)
        (_JEQ_K, 0, 4, numbers["socketpair"]),
        (_LD_W_ABS, 0, 0, _ARG0_LOW),
        (_JEQ_K, 1, 0, syscalls.AF_UNIX),
        _ret_errno(errno.EAFNOSUPPORT),
        (_RET_K, 0, 0, _ALLOW),
    ]
    ins.append((_RET_K, 0, 0, _ALLOW))
    return b"".join(struct.pack("HBBI", *i) for i in ins)


def install(filter_program: bytes | None) -> None:
    """Set no_new_privs and install the filter on the calling thread (inherited by every child)."""
    if filter_program is None:
        return
    buf = ctypes.create_string_buffer(filter_program)

    class _Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = _Prog(len(filter_program) // 8, ctypes.addressof(buf))
    ul = ctypes.c_ulong
    if _LIBC.prctl(syscalls.PR_SET_NO_NEW_PRIVS, ul(1), ul(0), ul(0), ul(0)) or _LIBC.prctl(
        syscalls.PR_SET_SECCOMP, ul(2), ctypes.c_void_p(ctypes.addressof(prog)), ul(0), ul(0)
    ):
        raise OSError(ctypes.get_errno(), "seccomp")
