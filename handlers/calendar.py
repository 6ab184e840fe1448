"""/ical: a secret calendar address for a phone calendar (one's own, a unit's, the cluster's), a new
one in place of the old (/ical mới), or one item as an .ics file (/ical S12, the "Thêm vào lịch" button)."""

from __future__ import annotations

from bot.errors import UserError
from bot.messages import Reply
from bot.services import calendar, editable
from bot.textnorm import normalize
from bot.views import calendar as views
from handlers.context import Context


async def cmd_ical(ctx: Context) -> Reply:
    words = normalize(ctx.slots.text).split()
    offsets = calendar.reminder_offsets(ctx.settings)
    if len(words) == 1 and editable.parse_code(words[0]) is not None:
        code, rows = await calendar.item_rows(ctx.session, words[0])
        return views.item_reply(code, rows, tz=ctx.tz, offsets=offsets, stamp=ctx.now)
    if ctx.incoming.chat_type != "private":
        raise UserError(views.private_only())
    renew = "moi" in words
    unit = ctx.slots.unit.unit if ctx.slots.unit is not None else None
    scope = "cluster" if "cum" in words and unit is None else "unit" if unit is not None else "mine"
    if scope != "mine" and not ctx.viewer.at_least("admin"):
        raise UserError(views.admin_only())
    issued = await calendar.issue_feed(
        ctx.session, ctx.viewer, scope=scope, unit_id=unit.id if unit else None, renew=renew, now=ctx.now
    )
    return views.feed_reply(issued, ctx.settings.public_url)
