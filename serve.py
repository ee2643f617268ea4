"""The app as an ASGI application (`streamlit run serve.py`): app.py's pages plus two routes that keep a
signed-in browser signed in across reloads and links (analytics/accounts/sessions.py).

POST /auth/session (header X-Ticket): trades the single-use ticket the sign-in form issued for an HttpOnly,
SameSite=Strict session cookie. POST /auth/logout: refuses the cookie's token and deletes the cookie.
Both answer only requests from the app's own pages (the Origin header names this host).

Closed in front of Streamlit's own routes (`Guard`): /_stcore/metrics (session counts and cache names are nobody's
business outside the server) answers 404, and /media/… (exported files, downloads) only to a browser whose session
cookie is live, so a file's address copied out of a tab opens nothing without signing in.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from analytics.accounts import sessions
from analytics.store import database as store
from pages._session import timeout_seconds


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == request.headers.get("host")


def open_session(request: Request) -> Response:
    if not _same_origin(request):
        return JSONResponse({"error": "来源不符"}, status_code=403)
    ticket = request.headers.get("x-ticket", "")  # a header, never the address: tickets stay out of logs
    try:  # held: the instance the sign-in's page runs just used, not a second opening of the file
        with store.held(), store.connect(store.db_path()) as con:
            token = sessions.redeem_ticket(con, ticket) if ticket else None
    except store.StoreError as exc:
        return JSONResponse({"error": str(exc)}, status_code=503)
    if token is None:
        return JSONResponse({"error": "登录凭据无效或已过期"}, status_code=400)
    response = JSONResponse({"ok": True})
    response.set_cookie(
        sessions.COOKIE, token, max_age=int(sessions.SESSION_LIFE.total_seconds()), httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    return response


def close_session(request: Request) -> Response:
    if not _same_origin(request):
        return JSONResponse({"error": "来源不符"}, status_code=403)
    token = request.cookies.get(sessions.COOKIE)
    if token:
        try:
            with store.connect(store.db_path()) as con:
                sessions.revoke(con, token)
        except store.StoreError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
    response = JSONResponse({"ok": True})
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


class Guard:
    """ASGI middleware: 404 for the metrics endpoint, 403 for media files without a live session."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            if path.rstrip("/").endswith("/_stcore/metrics"):
                return await Response(status_code=404)(scope, receive, send)
            if "/media/" in path and not _signed_in(Request(scope)):
                return await Response("请先登录", status_code=403)(scope, receive, send)
        await self.app(scope, receive, send)


def _signed_in(request: Request) -> bool:
    token = request.cookies.get(sessions.COOKIE)
    if not token:
        return False
    try:
        with store.connect(store.db_path()) as con:
            return sessions.user_of(con, token, dt.timedelta(seconds=timeout_seconds())) is not None
    except store.StoreError:
        return False


app = st.App(
    "app.py",
    routes=[
        Route("/auth/session", open_session, methods=["POST"]),
        Route("/auth/logout", close_session, methods=["POST"]),
    ],
    middleware=[Middleware(Guard)],
)
