"""/danhan (/ack): the person on duty acknowledges a shift; /nhaclai (/snooze): a reminder once more
in an hour. Both are what the buttons under a reminder send (numbered options on Zalo and the console)."""

from __future__ import annotations

import re

from bot.messages import Reply
from bot.services import acks
from bot.views import acks as views
from handlers.context import Context

_NUMBER = re.compile(r"^\s*#?(\d{1,9})\s*$")


def _number(ctx: Context) -> int | None:
    match = _NUMBER.match(ctx.slots.text or "")
    return int(match.group(1)) if match else None


async def cmd_ack(ctx: Context) -> Reply:
    shift_id = _number(ctx)
    if shift_id is None:
        return views.ack_usage()
    result = await acks.acknowledge(ctx.session, ctx.viewer, shift_id, ctx.now)
    return views.ack_reply(result, ctx.tz)


async def cmd_snooze(ctx: Context) -> Reply:
    row_id = _number(ctx)
    if row_id is None:
        return views.snooze_reply(acks.SnoozeResult("unknown"), ctx.tz)
    incoming = ctx.incoming
    result = await acks.snooze(
        ctx.session, channel=incoming.channel, chat_id=incoming.chat_id, row_id=row_id, now=ctx.now
    )
    return views.snooze_reply(result, ctx.tz)
