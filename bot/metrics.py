"""Prometheus metrics (``GET /metrics``): updates in and replies out per channel, the outbox by channel
and status, and how late pushed messages go out. One registry per app, so tests stay apart."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import OutboxMessage

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates_in = Counter(
            "qtbot_updates_in", "Messages and button presses received", ["channel"], registry=self.registry
        )
        self.replies_out = Counter("qtbot_replies_out", "Replies sent to them", ["channel"], registry=self.registry)
        self.outbox = Gauge(
            "qtbot_outbox_rows", "Outbox rows by channel and status", ["channel", "status"], registry=self.registry
        )
        self.lateness = Histogram(
            "qtbot_delivery_lateness_seconds",
            "How long after its planned time a pushed message went out",
            ["channel"],
            buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200),
            registry=self.registry,
        )

    async def render(self, sessions: async_sessionmaker[AsyncSession]) -> bytes:
        """The text exposition, with the outbox counted now."""
        async with sessions() as session:
            rows = await session.execute(
                select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
                    OutboxMessage.channel, OutboxMessage.status
                )
            )
            counts = rows.all()
        self.outbox.clear()
        for channel, status, count in counts:
            self.outbox.labels(channel, status).set(count)
        return generate_latest(self.registry)
