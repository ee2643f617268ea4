"""Browser sessions that survive a reload (SPEC §7): a signed-in page keeps a random token in an HttpOnly cookie.

The token is made by the server (serve.py's /auth/session route), never shown to the page: after the sign-in
form succeeds, the page's script posts a single-use ticket (valid for a minute) and the route answers with the
cookie. Each page run checks the cookie's token here: not revoked, not past its absolute expiry, not idle longer
than the timeout, and its account still active. Only sha256 digests of tokens are stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import duckdb

from analytics.store import database as store

COOKIE = "dangjian_session"
TICKET_LIFE = dt.timedelta(minutes=1)
SESSION_LIFE = dt.timedelta(hours=12)  # a working day; then sign in again, however active
TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen is written at most this often (a write per click is waste)


# A session found by its own token's digest (False) or by the ticket it was traded for (True)
_FIND = {
    False: "SELECT token_hash, user_name, last_seen, expires_at, revoked_at FROM web_sessions "
    "WHERE token_hash = $h AND kind = 'session'",
    True: "SELECT token_hash, user_name, last_seen, expires_at, revoked_at FROM web_sessions "
    "WHERE ticket_hash = $h AND kind = 'session'",
}
_REVOKE = {
    False: "UPDATE web_sessions SET revoked_at = $now WHERE token_hash = $h AND revoked_at IS NULL",
    # the ticket itself too: a sign-out before the page's script traded it leaves nothing to trade
    True: "UPDATE web_sessions SET revoked_at = $now WHERE (ticket_hash = $h OR token_hash = $h) AND revoked_at IS NULL",
}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now()


def _issue(
    con: duckdb.DuckDBPyConnection, kind: str, user: str, life: dt.timedelta, now: dt.datetime, ticket: str | None
) -> str:
    token = secrets.token_urlsafe(32)
    with store.transaction(con):
        con.execute(
            "INSERT INTO web_sessions VALUES ($h, $k, $u, $now, $now, $until, NULL, $t)",
            {"h": _digest(token), "k": kind, "u": user, "now": now, "until": now + life, "t": ticket},
        )
    return token


def issue_ticket(con: duckdb.DuckDBPyConnection, user: str, now: dt.datetime | None = None) -> str:
    """A single-use ticket, valid for TICKET_LIFE, that the signed-in page trades for its session cookie."""
    return _issue(con, "ticket", user, TICKET_LIFE, now or _now(), None)


def redeem_ticket(con: duckdb.DuckDBPyConnection, ticket: str, now: dt.datetime | None = None) -> str | None:
    """A new session token for the ticket's user, or None (unknown, used or expired ticket); uses the ticket up."""
    now = now or _now()
    with store.transaction(con):
        rows = con.execute(
            "UPDATE web_sessions SET revoked_at = $now WHERE token_hash = $h AND kind = 'ticket' "
            "AND revoked_at IS NULL AND expires_at >= $now RETURNING user_name",
            {"h": _digest(ticket), "now": now},
        ).fetchall()
    if not rows:
        return None
    return _issue(con, "session", rows[0][0], SESSION_LIFE, now, _digest(ticket))


def user_of(
    con: duckdb.DuckDBPyConnection, token: str, idle: dt.timedelta, now: dt.datetime | None = None
) -> str | None:
    """The user name a cookie's session token stands for, or None: unknown, revoked, expired or idle too long."""
    found = _check(con, token, idle, now or _now(), by_ticket=False)
    return found if isinstance(found, str) else None


def refused(
    con: duckdb.DuckDBPyConnection, secret: str, idle: dt.timedelta, now: dt.datetime | None = None, *,
    by_ticket: bool = False,
) -> bool:  # fmt: skip
    """True when the session is no longer valid: revoked (退出登录 in another tab), expired or idle too long.

    by_ticket: `secret` is the ticket the session was traded for (the page that signed in knows only that);
    a ticket not traded yet (no browser script ran, as in tests) leaves the session to its own idle timeout."""
    return _check(con, secret, idle, now or _now(), by_ticket=by_ticket) is True


def _check(con: duckdb.DuckDBPyConnection, secret: str, idle: dt.timedelta, now: dt.datetime, *, by_ticket: bool):
    """The user name of a valid session, True for a refused one, None for no session of that ticket yet.

    A session found idle or expired is revoked, so it stays refused; a valid one has last_seen moved to now."""
    rows = con.execute(_FIND[by_ticket], {"h": _digest(secret)}).fetchall()
    if not rows:
        return None if by_ticket else True
    digest, user, last_seen, expires, revoked = rows[0]
    if revoked is not None:
        return True
    if now > expires or now - last_seen > idle:
        _revoke(con, False, digest, now)
        return True
    if now - last_seen >= TOUCH_EVERY:
        with store.transaction(con):
            con.execute("UPDATE web_sessions SET last_seen = $now WHERE token_hash = $h", {"h": digest, "now": now})
    return user


def revoke(
    con: duckdb.DuckDBPyConnection, token: str, now: dt.datetime | None = None, *, by_ticket: bool = False
) -> None:
    """Refuse the token (or the session traded for this ticket) from now on: 退出登录, idle, expired."""
    _revoke(con, by_ticket, _digest(token), now or _now())


def _revoke(con: duckdb.DuckDBPyConnection, by_ticket: bool, digest: str, now: dt.datetime) -> None:
    with store.transaction(con):
        con.execute(_REVOKE[by_ticket], {"h": digest, "now": now})


def revoke_user(con: duckdb.DuckDBPyConnection, user: str, now: dt.datetime | None = None) -> None:
    """Refuse every session of a user (account disabled, password changed or reset)."""
    with store.transaction(con):
        con.execute(
            "UPDATE web_sessions SET revoked_at = $now WHERE user_name = $u AND revoked_at IS NULL",
            {"u": user, "now": now or _now()},
        )
