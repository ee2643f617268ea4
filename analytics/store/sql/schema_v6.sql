-- Schema version 6: browser sessions that survive a reload (analytics/accounts/sessions.py). Only a sha256 of
-- each token is kept: a copy of the database does not let anyone sign in. A 'ticket' is single-use and lives a
-- minute: the page's own script trades it for a 'session' token that the browser keeps as an HttpOnly cookie.
CREATE TABLE web_sessions (
    token_hash VARCHAR   PRIMARY KEY,
    kind       VARCHAR   NOT NULL,   -- ticket | session
    user_name  VARCHAR   NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen  TIMESTAMP NOT NULL,   -- the last page run of the session (checked against the idle timeout)
    expires_at TIMESTAMP NOT NULL,   -- the latest the token is valid, however active the session
    revoked_at TIMESTAMP,             -- 退出登录, a used ticket, or a disabled account
    ticket_hash VARCHAR               -- a session: the ticket it was traded for (the signing-in page knows it)
);
