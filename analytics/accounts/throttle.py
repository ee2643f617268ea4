"""Throttled guessing beyond one account (issue 19 item 2): failed sign-ins counted per browser session and per
client address, so a spray of guesses over many accounts is slowed down too.

After FREE failures a key must wait before its next attempt, twice as long after each further failure (2, 4, 8 …
up to MAX_DELAY seconds); after BLOCK_AFTER failures it is blocked for BLOCK_FOR. A success clears the session's
count (not the address's: many people may share one office address, so its limit is higher). The counts live in
the server process; a restart forgets them, which the per-account lockout in the database does not.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

FREE = 3
MAX_DELAY = 60.0
BLOCK_AFTER = {"session": 10, "address": 30}
BLOCK_FOR = 15 * 60.0


@dataclass
class _Count:
    failures: int = 0
    last: float = 0.0


class Throttle:
    """Failure counts keyed by ('session', id) or ('address', ip); thread-safe (sessions are threads)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._counts: dict[tuple[str, str], _Count] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def wait(self, keys: list[tuple[str, str]]) -> float:
        """Seconds until any of these keys may try again (0: now)."""
        now = self._clock()
        with self._lock:
            return max((self._wait(key, self._counts.get(key), now) for key in keys), default=0.0)

    @staticmethod
    def _wait(key: tuple[str, str], count: _Count | None, now: float) -> float:
        if count is None or count.failures < FREE:
            return 0.0
        if count.failures >= BLOCK_AFTER[key[0]]:
            return max(0.0, count.last + BLOCK_FOR - now)
        delay = min(MAX_DELAY, 2.0 ** (count.failures - FREE + 1))
        return max(0.0, count.last + delay - now)

    def failed(self, keys: list[tuple[str, str]]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                count = self._counts.setdefault(key, _Count())
                if count.failures >= BLOCK_AFTER[key[0]] and now - count.last >= BLOCK_FOR:
                    count.failures = FREE - 1  # the block has run out: the next failures are slowed again, not free
                count.failures += 1
                count.last = now

    def succeeded(self, keys: list[tuple[str, str]]) -> None:
        with self._lock:
            for key in keys:
                if key[0] == "session":
                    self._counts.pop(key, None)


def message(seconds: float) -> str:
    """The Chinese refusal for a throttled attempt."""
    if seconds > MAX_DELAY:
        return f"登录失败次数过多，已暂停登录，请 {int(seconds // 60) + 1} 分钟后再试。"
    return f"登录失败次数较多，请 {int(seconds) + 1} 秒后再试。"


GUESSES = Throttle()  # the server process's counts
