"""Run a file reader in a forked child under a memory and a time limit (issue 8: no file takes the server down).

calamine builds every sheet as one dense rows × columns block and trusts counts written in the file, so a few
hundred bytes can ask it for hundreds of gigabytes; a failed allocation in Rust aborts the whole process instead
of raising. In a child the worst a file can do is end that child. fork, not spawn: the child starts in
milliseconds with everything already imported (bench/).
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import resource
import select
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

READ_SECONDS = 60
READ_MEMORY = 3 << 30  # address space the child may add to what the parent already has
_FORKING = threading.Lock()


class LimitExceeded(Exception):
    """The child ran out of time ("time") or memory, or ended without an answer ("memory")."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def run_limited(fn: Callable[..., Any], *args: Any, seconds: float = READ_SECONDS, memory: int = READ_MEMORY) -> Any:
    """fn(*args) computed in a forked child; its exceptions are raised here, a crash or overrun is LimitExceeded."""
    if not hasattr(os, "fork"):
        return fn(*args)
    # A child forked by another upload meanwhile must not inherit this write end: its reader would wait for it
    with _FORKING:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _child(write_end, fn, args, memory)
        os.close(write_end)
    try:
        payload = _read_answer(read_end, pid, seconds)
    finally:
        os.close(read_end)
    os.waitpid(pid, 0)
    try:
        outcome, value = pickle.loads(payload)
    except Exception as exc:  # no answer or a cut one: the child died (Rust abort, out of memory)
        raise LimitExceeded("memory") from exc
    if outcome == "raised":
        raise value
    return value


def _read_answer(fd: int, pid: int, seconds: float) -> bytes:
    """Everything the child writes, until it closes the pipe; kills it after `seconds`."""
    deadline = time.monotonic() + seconds
    parts = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise LimitExceeded("time")
        part = os.read(fd, 1 << 20)
        if not part:
            return b"".join(parts)
        parts.append(part)


def _child(fd: int, fn: Callable[..., Any], args: tuple, memory: int) -> None:
    """Compute, send the pickled outcome and exit without running the parent's exit handlers."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # a Rust abort prints a backtrace; the parent reports it in Chinese instead
        faulthandler.disable()  # it would dump the Python stack of the abort to its own copy of stderr
        _limit_address_space(memory)
        try:
            outcome = ("ok", fn(*args))
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            return  # no answer: the parent reports the memory limit
        except Exception as exc:
            data = _pickled_exception(exc)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os._exit(0)


def _pickled_exception(exc: Exception) -> bytes:
    try:
        return pickle.dumps(("raised", exc))
    except Exception:  # an exception that does not pickle still reaches the parent, as a bug
        return pickle.dumps(("raised", RuntimeError(repr(exc))))


def _limit_address_space(extra: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + extra
    if soft != resource.RLIM_INFINITY:
        limit = min(limit, soft)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _address_space() -> int:
    """Bytes of address space this process uses now (VmSize)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 30
