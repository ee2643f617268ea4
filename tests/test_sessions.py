"""Browser sessions kept across reloads (analytics/accounts/sessions.py) on a real DuckDB file: a ticket is
single-use and short-lived, a session token is refused after 退出登录, after its idle time and after its absolute
expiry, and only digests are stored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from analytics.accounts import sessions
from analytics.store import database as store

T0 = dt.datetime(2026, 12, 5, 9, 0, 0)
IDLE = dt.timedelta(minutes=30)


@pytest.fixture
def con(tmp_path: Path):
    with store.connect(tmp_path / "s.duckdb") as connection:
        yield connection


def test_a_ticket_is_traded_once_for_a_token_of_its_user(con):
    ticket = sessions.issue_ticket(con, "张三", now=T0)
    token = sessions.redeem_ticket(con, ticket, now=T0 + dt.timedelta(seconds=5))
    assert token and token != ticket
    assert sessions.user_of(con, token, IDLE, now=T0 + dt.timedelta(minutes=1)) == "张三"
    assert sessions.redeem_ticket(con, ticket, now=T0 + dt.timedelta(seconds=6)) is None  # used up
    # neither the ticket nor the token can be used as the other
    assert sessions.user_of(con, ticket, IDLE, now=T0) is None
    assert sessions.redeem_ticket(con, token, now=T0) is None


def test_a_ticket_older_than_a_minute_is_refused(con):
    ticket = sessions.issue_ticket(con, "张三", now=T0)
    assert sessions.redeem_ticket(con, ticket, now=T0 + sessions.TICKET_LIFE + dt.timedelta(seconds=1)) is None


def test_only_digests_of_tickets_and_tokens_are_stored(con):
    ticket = sessions.issue_ticket(con, "张三", now=T0)
    token = sessions.redeem_ticket(con, ticket, now=T0)
    stored = " ".join(str(v) for row in con.execute("SELECT * FROM web_sessions").fetchall() for v in row)
    assert ticket not in stored and token not in stored
    assert con.execute("SELECT count(*) FROM web_sessions").fetchall()[0][0] == 2


def test_a_token_is_refused_after_sign_out_after_its_idle_time_and_after_its_expiry(con):
    tokens = [sessions.redeem_ticket(con, sessions.issue_ticket(con, "张三", now=T0), now=T0) for _ in range(3)]
    signed_out, idle, busy = tokens
    sessions.revoke(con, signed_out, now=T0 + dt.timedelta(minutes=1))
    assert sessions.user_of(con, signed_out, IDLE, now=T0 + dt.timedelta(minutes=2)) is None
    # idle: 29 minutes is fine and moves last_seen; 31 minutes after that is not, and stays refused
    assert sessions.user_of(con, idle, IDLE, now=T0 + dt.timedelta(minutes=29)) == "张三"
    assert sessions.user_of(con, idle, IDLE, now=T0 + dt.timedelta(minutes=58)) == "张三"
    assert sessions.user_of(con, idle, IDLE, now=T0 + dt.timedelta(minutes=89)) is None
    assert sessions.user_of(con, idle, IDLE, now=T0 + dt.timedelta(minutes=90)) is None
    # busy every 20 minutes, yet refused once the absolute life (12 h) is over
    step = dt.timedelta(minutes=20)
    moments = [T0 + step * k for k in range(1, int(sessions.SESSION_LIFE / step) + 1)]
    assert all(sessions.user_of(con, busy, IDLE, now=t) == "张三" for t in moments)
    assert sessions.user_of(con, busy, IDLE, now=T0 + sessions.SESSION_LIFE + step) is None


def test_the_signing_in_page_finds_its_session_by_the_ticket_and_can_end_it(con):
    ticket = sessions.issue_ticket(con, "张三", now=T0)
    # before the page's script traded the ticket (or with no browser at all) nothing is refused
    assert not sessions.refused(con, ticket, IDLE, now=T0, by_ticket=True)
    token = sessions.redeem_ticket(con, ticket, now=T0)
    assert not sessions.refused(con, ticket, IDLE, now=T0 + dt.timedelta(minutes=5), by_ticket=True)
    sessions.revoke(con, ticket, now=T0 + dt.timedelta(minutes=6), by_ticket=True)  # 退出登录 on that page
    assert sessions.refused(con, ticket, IDLE, now=T0 + dt.timedelta(minutes=7), by_ticket=True)
    assert sessions.user_of(con, token, IDLE, now=T0 + dt.timedelta(minutes=7)) is None


def test_signing_out_before_the_ticket_was_traded_leaves_nothing_to_trade(con):
    ticket = sessions.issue_ticket(con, "张三", now=T0)
    sessions.revoke(con, ticket, now=T0, by_ticket=True)
    assert sessions.redeem_ticket(con, ticket, now=T0 + dt.timedelta(seconds=1)) is None


def test_revoking_a_user_refuses_every_session_of_that_user_only(con):
    mine = [sessions.redeem_ticket(con, sessions.issue_ticket(con, "张三", now=T0), now=T0) for _ in range(2)]
    other = sessions.redeem_ticket(con, sessions.issue_ticket(con, "李四", now=T0), now=T0)
    sessions.revoke_user(con, "张三", now=T0)
    assert [sessions.user_of(con, t, IDLE, now=T0) for t in mine] == [None, None]
    assert sessions.user_of(con, other, IDLE, now=T0) == "李四"
