"""Run a file reader in a forked child under a memory and a time limit: no file takes the server down.

calamine builds every sheet as one dense rows × columns block and trusts counts written in the file, so a few
hundred bytes can ask it for hundreds of gigabytes; a failed allocation in Rust aborts the whole process instead
of raising. In a child the worst a file can do is end that child. fork, not spawn: the child starts in
milliseconds with everything already imported (bench/). The answer's large buffers (Arrow columns) travel through a
shared memory file and are mapped, not copied, on this side; the pipe carries only a small pickle.
"""

from __future__ import annotations

import faulthandler
import logging
import mmap
import os
import pickle
import resource
import select
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

READ_SECONDS = 60
READ_MEMORY = 3 << 30  # address space the child may add to what the parent already has
_FORKING = threading.Lock()

log = logging.getLogger(__name__)
MEMORY_EXIT = 86  # the child's exit code when its computation ran out of memory


class LimitExceeded(Exception):
    """The child did not answer: it ran out of time ("time") or memory ("memory"), ended without an answer ("crash":
    killed by a signal, such as a Rust abort, or exited early), or its answer could not be read back ("answer")."""

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
        shared = _shared_file()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _child(write_end, shared, fn, args, memory)
        os.close(write_end)
    try:
        payload = _read_answer(read_end, pid, seconds)
        if not payload:  # the pipe closed without an answer: how the child ended says why
            raise LimitExceeded(_silent_end(os.waitpid(pid, 0)[1]))
        # The child has answered; its exit (unmapping all it allocated) need not hold up this upload
        threading.Thread(target=os.waitpid, args=(pid, 0), daemon=True).start()
        outcome, value = _answer(payload, shared)
    finally:
        os.close(read_end)
        os.close(shared)
    if outcome == "raised":
        raise value
    return value


def _shared_file() -> int:
    """A file descriptor for the child's buffers: anonymous memory where the system has it, else a temporary file."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("dangjian-read")
    descriptor, path = tempfile.mkstemp(prefix="dangjian-read-")
    os.unlink(path)
    return descriptor


def _silent_end(status: int) -> str:
    """Why a child that closed its pipe without an answer ended: "memory" when it said so, else "crash"."""
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == MEMORY_EXIT:
        return "memory"
    how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit code {os.WEXITSTATUS(status)}"
    log.warning("reader child ended without an answer (%s)", how)
    return "crash"


def _answer(payload: bytes, shared: int) -> tuple[str, Any]:
    """The child's (outcome, value), its buffers mapped from the shared file; LimitExceeded("answer") when the
    answer cannot be read back."""
    try:
        pickled, layout = pickle.loads(payload)
        size = os.fstat(shared).st_size
        # A private mapping: pages stay shared with the page cache until someone writes to them
        memory = memoryview(mmap.mmap(shared, size, access=mmap.ACCESS_COPY)) if size else memoryview(b"")
        return pickle.loads(pickled, buffers=[memory[start : start + length] for start, length in layout])
    except Exception as exc:  # a cut or unreadable answer: say what it was, it is not the memory limit
        log.warning("reader child's answer could not be read back: %r", exc)
        raise LimitExceeded("answer") from exc


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


def _child(fd: int, shared: int, fn: Callable[..., Any], args: tuple, memory: int) -> None:
    """Compute, send the pickled outcome and exit without running the parent's exit handlers."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # a Rust abort prints a backtrace; the parent reports it in Chinese instead
        faulthandler.disable()  # it would dump the Python stack of the abort to its own copy of stderr
        _limit_address_space(memory)
        buffers: list[pickle.PickleBuffer] = []
        outcome: tuple[str, Any] | None = None
        try:
            outcome = ("ok", fn(*args))
            # Protocol 5 hands over Arrow and numpy buffers as they are, instead of copying them into the pickle
            data = pickle.dumps(outcome, protocol=5, buffer_callback=buffers.append)
        except MemoryError:
            os._exit(MEMORY_EXIT)  # no answer, and this code: the parent reports the memory limit
        except Exception as exc:
            data, buffers = _pickled_exception(exc), []
        try:
            answer = pickle.dumps((data, _write_buffers(shared, buffers)))
        except OSError:  # the shared file may not grow (a file-size limit): the whole answer through the pipe
            answer = pickle.dumps((pickle.dumps(outcome, protocol=5) if outcome else data, []))
        _write_all(fd, answer)
        os.close(fd)  # the parent reads its answer now, not after this process has unmapped everything
    finally:
        os._exit(0)


def _write_buffers(shared: int, buffers: list[pickle.PickleBuffer]) -> list[tuple[int, int]]:
    """Write the buffers one after another into the shared file; returns (offset, length) of each."""
    layout, offset = [], 0
    for buffer in buffers:
        view = buffer.raw()
        offset += -offset % 64  # Arrow expects its buffers aligned
        os.lseek(shared, offset, os.SEEK_SET)
        _write_all(shared, view)
        layout.append((offset, view.nbytes))
        offset += view.nbytes
    return layout


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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
