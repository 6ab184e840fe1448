"""/doica (/swap): offer one's shift to a colleague or to the unit, answer a request, approve it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from bot import lexicon
from bot.errors import UserError
from bot.messages import Reply
from bot.services import swaps
from bot.textnorm import normalize
from bot.views import swaps as views
from bot.vntime import parse_date
from handlers.context import Context

ACTION = re.compile(r"^(?P<word>[^\d#]+?)\s*#?(?P<number>\d+)$")


@contextmanager
def _phrased(ctx: Context) -> Iterator[None]:
    """A refused request in words (the transaction is rolled back by the dispatcher)."""
    try:
        yield
    except swaps.SwapRefused as exc:
        raise UserError(views.refusal_text(exc, ctx.tz)) from exc


async def cmd_swap(ctx: Context) -> Reply:
    args = ctx.slots.text.strip()
    if not args:
        return await _waiting(ctx)
    action = ACTION.match(normalize(args))
    if action and action.group("word").strip() in lexicon.SWAP_ACTIONS:
        return await _act(ctx, lexicon.SWAP_ACTIONS[action.group("word").strip()], int(action.group("number")))
    parts = [p.strip() for p in args.split("|")]
    if len(parts) > 3 or not all(parts):
        return Reply(views.USAGE)
    day = _day(ctx, parts[0])
    other = _day(ctx, parts[2]) if len(parts) == 3 else None
    with _phrased(ctx):
        view = await swaps.request(
            ctx.session,
            ctx.viewer,
            day=day,
            colleague=parts[1] if len(parts) > 1 else None,
            other_day=other,
            now=ctx.now,
        )
    return views.asked_reply(swaps.facts(view), ctx.tz)


async def ask_swap(ctx: Context) -> Reply:
    """'ai nhận giúp ca 24/6': the asker's shift of that day offered to anyone of the unit."""
    if ctx.slots.day is None:
        return Reply(views.USAGE)
    with _phrased(ctx):
        view = await swaps.request(
            ctx.session, ctx.viewer, day=ctx.slots.day, colleague=None, other_day=None, now=ctx.now
        )
    return views.asked_reply(swaps.facts(view), ctx.tz)


def _day(ctx: Context, text: str) -> date:
    day = parse_date(text, ctx.today)
    if day is None:
        raise UserError(views.bad_day(text))
    return day


async def _act(ctx: Context, action: str, number: int) -> Reply:
    with _phrased(ctx):
        if action in ("agree", "take", "refuse"):
            view = await swaps.answer(ctx.session, ctx.viewer, number, agree=action != "refuse", now=ctx.now)
            return views.answered_reply(swaps.facts(view), ctx.tz)
        view = await swaps.decide(ctx.session, ctx.viewer, number, approve=action == "approve", now=ctx.now)
        return views.decided_reply(swaps.facts(view), ctx.tz)


async def _waiting(ctx: Context) -> Reply:
    items = []
    member_id = ctx.viewer.member.id if ctx.viewer.member else None
    for view in await swaps.waiting_for(ctx.session, ctx.viewer, ctx.now):
        swap = view.swap
        if swap.status == "asked" and member_id != swap.requester_member_id:
            role = "answer"
        elif swap.status == "agreed" and swaps.may_approve(ctx.viewer, view.unit):
            role = "approve"
        else:
            role = "mine"
        items.append((swaps.facts(view), role))
    return views.waiting_reply(items, ctx.tz)
