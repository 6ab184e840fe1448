"""The web side of webhook mode: Telegram posts updates here; load balancers ask /healthz.

Every POST must carry the secret Telegram was given with setWebhook (header
``X-Telegram-Bot-Api-Secret-Token``); anything else is refused with 403 and never reaches the bot.
"""

from __future__ import annotations

import hmac
import json
import logging
from urllib.parse import urlparse

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.telegram import TelegramChannel

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024


def web_app(
    channel: TelegramChannel, sessions: async_sessionmaker[AsyncSession], *, webhook_url: str, secret: str
) -> Starlette:
    async def telegram_update(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning(
                "refused a webhook call without the right secret from %s",
                request.client.host if request.client else "?",
            )
            return Response(status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(status_code=413)
        try:
            data = json.loads(body)
        except ValueError:
            return Response(status_code=400)
        if not isinstance(data, dict) or "update_id" not in data:
            return Response(status_code=400)
        await channel.feed(data)
        return Response(status_code=200)

    async def healthz(_request: Request) -> Response:
        try:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: the database does not answer")
            return JSONResponse({"ok": False, "database": "down"}, status_code=503)
        return JSONResponse({"ok": True})

    path = urlparse(webhook_url).path or "/"
    return Starlette(routes=[Route(path, telegram_update, methods=["POST"]), Route("/healthz", healthz)])
