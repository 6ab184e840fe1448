"""/tin (/news): the latest news."""

from __future__ import annotations

from bot.messages import Reply
from bot.services import news
from bot.views import news as views
from handlers.context import Context


async def cmd_news(ctx: Context) -> Reply:
    return views.news_reply(await news.latest_news(ctx.session, ctx.now), ctx.tz)
