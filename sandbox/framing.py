"""The one wire format inside the sandbox: a 4-byte big-endian length, then that many bytes of JSON.

The pool and its slot workers, and assert mode's program and checker, all speak it; only the transport
differs (a raw descriptor read exactly, or an asyncio stream), never the framing.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from typing import Any

_HEADER = struct.Struct("!I")


def pack(obj: Any) -> bytes:
    """One frame holding `obj` as JSON."""
    data = json.dumps(obj).encode()
    return _HEADER.pack(len(data)) + data


def read_exactly(fd: int, n: int) -> bytes | None:
    """Exactly `n` bytes from `fd` (never more: the rest stays in the descriptor), or None at EOF."""
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def write_fd(fd: int, obj: Any) -> None:
    """Write one frame to a descriptor, looping over short writes."""
    view = memoryview(pack(obj))
    while view:
        view = view[os.write(fd, view) :]


def read_fd(fd: int) -> Any:
    """Read one frame from a descriptor; None when the other side has closed it."""
    head = read_exactly(fd, _HEADER.size)
    if head is None:
        return None
    body = read_exactly(fd, _HEADER.unpack(head)[0])
    return None if body is None else json.loads(body)


async def read_stream(stream: asyncio.StreamReader) -> Any:
    """Read one frame from an asyncio stream (raises IncompleteReadError when it ends)."""
    (n,) = _HEADER.unpack(await stream.readexactly(_HEADER.size))
    return json.loads(await stream.readexactly(n))
