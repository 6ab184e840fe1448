"""The one web app (Starlette): webhooks of every channel, ``/healthz``, ``/metrics``, ``/files/<token>``,
``/ical/<token>.ics`` (calendar feeds: ETag, 304 for a calendar that has the current one, 404 once revoked).

A webhook POST must carry the secret the platform was given (compared in constant time) or it gets
403 and never reaches the bot; the body size is checked before the body is read (413); a body that is
not JSON gets 400; JSON of a shape the bot does not know is logged and answered 200, so the platform
does not send it again and again; the update is handled before the answer, and when the database
cannot be reached the answer is 503, so a platform that retries delivers the message again instead
of it being lost.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.db import unreachable
from bot.metrics import CONTENT_TYPE, Metrics
from bot.models import utcnow
from bot.services import calendar, channel_state

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


class Malformed(Exception):
    """A webhook body of a shape the channel cannot read."""


@dataclass(frozen=True)
class Webhook:
    """One channel's webhook route: where, which header carries the secret, and what takes the body."""

    channel: str
    path: str
    header: str
    secret: str
    receive: Callable[[Any], Awaitable[None]]  # the parsed JSON; raises Malformed for a shape it cannot read


@dataclass(frozen=True)
class Health:
    """A channel as /healthz reports it."""

    name: str
    check: Callable[[], bool]


def _webhook_endpoint(hook: Webhook) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        given = request.headers.get(hook.header, "")
        if not hmac.compare_digest(given.encode(), hook.secret.encode()):
            log.warning(
                "%s webhook: refused a call without the right secret from %s",
                hook.channel,
                request.client.host if request.client else "?",
            )
            return Response(status_code=403)
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:  # "²".isdigit() too
            return Response(status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return Response(status_code=413)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep to read
            return Response(status_code=400)
        try:
            await hook.receive(data)
        except Malformed as exc:
            log.warning("%s webhook: ignored an update of an unknown shape (%s)", hook.channel, exc)
        except Exception as exc:
            if unreachable(exc):
                log.warning("%s webhook: the database does not answer; asking the platform to retry", hook.channel)
                return Response(status_code=503)
            # Handled as far as it goes: sending it again would not help, and could do it twice.
            log.exception("%s webhook: an update could not be handled", hook.channel)
        return Response(status_code=200)

    return endpoint


def web_app(
    sessions: async_sessionmaker[AsyncSession],
    *,
    webhooks: Sequence[Webhook] = (),
    health: Sequence[Health] = (),
    metrics: Metrics | None = None,
    clock: Callable[[], datetime] = utcnow,
    settings: Settings | None = None,
) -> Starlette:
    """``clock`` says what "now" is (files expire, feeds cover the days around it): the real time, or
    a demo's. ``settings`` (time zone, reminder offsets) enable the calendar feeds."""

    async def healthz(_request: Request) -> Response:
        report: dict[str, Any] = {"ok": True}
        try:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: the database does not answer")
            return JSONResponse({"ok": False, "database": "down"}, status_code=503)
        channels = {item.name: ("ok" if item.check() else "down") for item in health}
        if channels:
            report["channels"] = channels
        if "down" in channels.values():
            report["ok"] = False
            return JSONResponse(report, status_code=503)
        return JSONResponse(report)

    async def metrics_endpoint(_request: Request) -> Response:
        assert metrics is not None
        return Response(await metrics.render(sessions), media_type=CONTENT_TYPE)

    async def files(request: Request) -> Response:
        token = request.path_params["token"]
        if not 20 <= len(token) <= 64:
            return Response(status_code=404)
        async with sessions() as session:
            stored = await channel_state.load_file(session, token, now=clock())
        if stored is None:
            return Response(status_code=404)
        disposition = "inline" if stored.mime_type.startswith("image/") else "attachment"
        return Response(
            stored.content,
            media_type=stored.mime_type,
            headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.filename, safe='')}"},
        )

    routes = [Route(hook.path, _webhook_endpoint(hook), methods=["POST"]) for hook in webhooks]
    routes += [Route("/healthz", healthz), Route("/files/{token}", files)]
    if settings is not None:
        routes.append(Route("/ical/{name}", _ical_endpoint(sessions, settings, clock)))
    if metrics is not None:
        routes.append(Route("/metrics", metrics_endpoint))
    return Starlette(routes=routes)


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _ical_endpoint(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Callable[[], datetime]
) -> Callable[[Request], Awaitable[Response]]:
    from bot.views import calendar as calendar_views

    offsets = calendar.reminder_offsets(settings)

    async def endpoint(request: Request) -> Response:
        name: str = request.path_params["name"]
        if not name.endswith(".ics"):
            return Response(status_code=404)
        now = clock()
        today = now.astimezone(settings.tz).date()
        async with sessions() as session:
            feed = await calendar.active_feed(session, name.removesuffix(".ics"))
            if feed is None:
                return Response(status_code=404)
            etag = calendar.feed_etag(feed, await calendar.content_version(session), today)
            headers = {"ETag": etag, "Cache-Control": "private, max-age=300"}
            if _matches(request.headers.get("if-none-match", ""), etag):
                return Response(status_code=304, headers=headers)
            rows = await calendar.feed_rows(session, feed, now=now)
        body = calendar_views.feed_ics(
            calendar_views.feed_name(feed.scope, rows.unit_name),
            rows,
            tz=settings.tz,
            offsets=offsets,
            stamp=datetime.combine(today, time(0), settings.tz),
        )
        return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)

    return endpoint
