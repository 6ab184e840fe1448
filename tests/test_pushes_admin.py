"""Subscriptions, quiet hours, group links, news feeds, the delivery log and `qtbot tick`."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.channels.base import RateLimits
from bot.config import ConfigError, load_settings
from bot.delivery import Throttle
from bot.models import AuditEntry, ChatLink, Member, NewsItem, NewsSource, OutboxMessage, Subscription
from bot.services.news import fetch_all
from bot.views.deliveries import delivery_error
from tests.chatting import ask, console, qtbot, qtbot_env
from tests.conftest import local

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Bao Ha Nam</title>
<item><guid>bhn-1</guid><title>Kim B&#7843;ng t&#7893;ng k&#7871;t di&#7877;n t&#7853;p</title>
<link>https://example.vn/1</link><description>&lt;p&gt;Noi dung &lt;b&gt;mot&lt;/b&gt;&lt;/p&gt;</description>
<pubDate>Thu, 20 Oct 2022 09:00:00 +0700</pubDate></item>
<item><guid>bhn-2</guid><title>Tin hai</title><link>https://example.vn/2</link></item>
</channel></rss>"""


async def test_subscribe_and_unsubscribe_by_words_and_buttons(demo_app: App) -> None:
    chat = await console(demo_app)
    shown = await ask(chat, "/caidat")
    assert "✅ Lịch trực" in shown and "Giờ yên lặng: không đặt" in shown
    off = await ask(chat, "/huydangky trực, tin tức")
    assert "(Đã tắt: Lịch trực, Tin tức)" in off and "⬜ Lịch trực" in off and "⬜ Tin tức" in off
    # The keyboard toggles: button 2 is "Lịch trực", now off, so pressing it turns it back on.
    assert "✅ Lịch trực" in await ask(chat, "2")
    assert "Không rõ loại tin" in await ask(chat, "/dangky bóng đá")
    assert "⬜ Thông báo" in await ask(chat, "/unsubscribe announcements")


async def test_unsubscribing_the_morning_digest_keeps_the_news(demo_app: App) -> None:
    """'/huydangky bản tin sáng' turns off the morning digest only; the "tin" inside it is not the news."""
    chat = await console(demo_app)
    off = await ask(chat, "/huydangky bản tin sáng")
    assert "(Đã tắt: Bản tin sáng)" in off
    assert "⬜ Bản tin sáng" in off and "✅ Tin tức" in off


async def test_quiet_hours_are_set_and_cleared(demo_app: App) -> None:
    chat = await console(demo_app)
    assert "Giờ yên lặng: 22h00–06h00" in await ask(chat, "/caidat yên lặng 22h-6h")
    async with demo_app.sessions() as session:
        link = await session.scalar(select(ChatLink).where(ChatLink.chat_id == "officer:U-KB"))
    assert (link.quiet_start.hour, link.quiet_end.hour) == (22, 6)
    assert "Giờ yên lặng: không đặt" in await ask(chat, "/caidat bỏ yên lặng")
    assert "Viết giờ yên lặng như" in await ask(chat, "/caidat yên lặng lúc nào đó")


async def test_guests_cannot_subscribe(demo_app: App) -> None:
    chat = await console(demo_app, "guest")
    assert "chưa là thành viên" in await ask(chat, "/dangky tất cả")


async def test_an_unsubscribed_chat_gets_no_reminder(demo_app: App) -> None:
    chat = await console(demo_app)
    await ask(chat, "/huydangky hội nghị")
    report = await demo_app.jobs({}, clock=lambda: local("2022-06-22 16:00")).plan()
    assert report.written == 0


async def test_delivery_log_counts_and_explains_failures(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    officer = await console(demo_app)
    assert officer is not None
    async with demo_app.sessions() as session, session.begin():
        link = await session.scalar(select(ChatLink).where(ChatLink.chat_id == "officer:U-KB"))
        now = local("2022-06-22 09:00")
        for index, status in enumerate(("sent", "sent", "failed", "missed")):
            session.add(
                OutboxMessage(
                    dedupe_key=f"k{index}",
                    slot=f"k{index}",
                    kind="conference",
                    chat_link_id=link.id,
                    channel="telegram",
                    chat_id="42",
                    text="<b>Nhắc lịch</b>: X",
                    due_at=now,
                    send_at=now,
                    next_attempt_at=now,
                    status=status,
                    last_error="Forbidden: bot was blocked by the user" if status == "failed" else None,
                )
            )
    answer = await ask(admin, "/guitin")
    assert "• đã gửi: 2" in answer and "• thất bại: 1" in answer and "• lỡ (bot không chạy): 1" in answer
    # What Telegram said stays in the log; the admin reads what it means.
    assert "telegram:42 — thất bại: người nhận đã chặn bot (Nhắc lịch: X)" in answer
    assert "telegram:42 — lỡ (bot không chạy): quá giờ nhắc khi bot không chạy" in answer
    assert "Forbidden" not in answer
    assert "chỉ dành cho cán bộ quản trị" in await ask(officer, "/guitin")


class _FeedSite(http.server.BaseHTTPRequestHandler):
    """A small web site on 127.0.0.1: /rss is a feed, /trang an HTML page, anything else 404."""

    def do_GET(self) -> None:
        pages = {"/rss": (b"application/rss+xml", RSS), "/trang": (b"text/html", b"<html><title>x</title></html>")}
        if self.path not in pages:
            self.send_error(404)
            return
        kind, body = pages[self.path]
        self.send_response(200)
        self.send_header("Content-Type", kind.decode())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        del args


@pytest.fixture
def feed_site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FeedSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def _count(app: App, model: type) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_admin_posts_news_and_adds_a_feed(demo_app: App, feed_site: str) -> None:
    admin = await console(demo_app, "admin")
    assert "Đã đăng tin: Diễn tập thành công" in await ask(admin, "/themtin Diễn tập thành công | Xã Thanh Sơn")
    assert "Diễn tập thành công" in await ask(admin, "/tin")
    assert "phải bắt đầu bằng http" in await ask(admin, "/themtin Tiêu đề | tóm tắt | ftp://x")
    assert "Đã thêm nguồn tin" in await ask(admin, f"/themnguon {feed_site}/rss")
    assert "Viết: /themnguon" in await ask(admin, "/themnguon không phải link")


async def test_a_feed_address_that_does_not_answer_with_a_feed_is_refused(demo_app: App, feed_site: str) -> None:
    admin = await console(demo_app, "admin")
    sources = await _count(demo_app, NewsSource)
    answer = await ask(admin, f"/themnguon {feed_site}/khong-co")
    assert f"Chưa thêm nguồn tin {feed_site}/khong-co: địa chỉ trả lời lỗi 404 (không có trang này)." in answer
    assert "không phải nguồn tin RSS hoặc Atom" in await ask(admin, f"/themnguon {feed_site}/trang")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert "không kết nối được" in await ask(admin, f"/themnguon http://127.0.0.1:{closed}/rss")
    assert await _count(demo_app, NewsSource) == sources
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def test_news_feeds_are_fetched_conditionally_and_bad_feeds_are_skipped(demo_app: App) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.url.host == "broken.example":
            return httpx.Response(500)
        if request.url.host == "garbage.example":
            return httpx.Response(200, content=b"not a feed at all <<<")
        if request.headers.get("If-None-Match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, content=RSS, headers={"ETag": '"v1"'})

    feeds = ["https://good.example/rss", "https://broken.example/rss", "https://garbage.example/rss"]
    now = local("2022-10-20 10:00")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        async with demo_app.sessions() as session, session.begin():
            reports = await fetch_all(session, client, feeds, now)
        assert [r.status for r in reports] == ["new", "error", "error"]
        assert reports[0].added == 2
        async with demo_app.sessions() as session, session.begin():
            again = await fetch_all(session, client, feeds, now)
    assert again[0].status == "not_modified"
    assert calls[-3].headers["If-None-Match"] == '"v1"'
    async with demo_app.sessions() as session:
        items = list(await session.scalars(select(NewsItem).where(NewsItem.guid.like("bhn-%")).order_by(NewsItem.guid)))
        broken = await session.scalar(select(NewsSource).where(NewsSource.url == feeds[1]))
    assert [i.title for i in items] == ["Kim Bảng tổng kết diễn tập", "Tin hai"]
    assert items[0].summary == "Noi dung mot"
    assert items[0].published_at == local("2022-10-20 09:00")
    assert broken.last_error and "500" in broken.last_error


def test_throttle_spaces_messages_to_one_chat_and_groups() -> None:
    async def run() -> tuple[float, float]:
        throttle = Throttle(RateLimits(per_second=1000, private_interval=0.05, group_per_minute=600))
        started = time.monotonic()
        for _ in range(4):
            await throttle.acquire("1", is_group=False)
        private = time.monotonic() - started
        started = time.monotonic()
        for _ in range(3):
            await throttle.acquire("-5", is_group=True)
        return private, time.monotonic() - started

    private, group = asyncio.run(run())
    assert private >= 0.14  # three gaps of 50 ms
    assert group >= 0.19  # two gaps of 100 ms (600 per minute)


def test_qtbot_tick_prints_what_was_sent_where(demo_db_url: str, tmp_path: Path) -> None:
    env = qtbot_env(demo_db_url)
    chat = qtbot(
        "chat", "--as", "officer:Kim Bảng", "--now", "2022-06-22 10:00", env=env, cwd=tmp_path, stdin="/caidat\n"
    )
    assert "✅ Hội nghị, họp" in chat
    out = qtbot("tick", "--now", "2022-06-22 16:00", env=env, cwd=tmp_path)
    assert "Lúc 16h00 22/06/2022 (giờ Việt Nam):" in out
    assert "→ console:officer:U-KB\nNhắc lịch (ngày mai): Hội nghị Sơ kết phong trào Thi đua Quyết thắng" in out
    assert "Đã gửi 0;" in qtbot("tick", "--now", "2022-06-22 16:00", env=env, cwd=tmp_path)


async def test_joining_subscribes_to_everything(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    answer = await ask(admin, "/moi Kim Bảng Phạm Minh Dũng")
    assert "Mã mời cho Ban CHQS huyện Kim Bảng — đồng chí Phạm Minh Dũng" in answer
    code = answer.split("/start ")[1].split()[0]
    guest = await console(demo_app, "guest")
    assert "Ban CHQS huyện Kim Bảng" in await ask(guest, f"/start {code}")
    async with demo_app.sessions() as session:
        link = await session.scalar(select(ChatLink).where(ChatLink.chat_id == "guest"))
        kinds = await session.scalar(
            select(func.count()).select_from(Subscription).where(Subscription.chat_link_id == link.id)
        )
        dung = await session.scalar(select(Member).where(Member.key == "P-KB-DUNG"))
    assert kinds == 8 and link.member_id == dung.id and dung.role == "officer"


@pytest.mark.parametrize("value", ["1d@25:00", "2x", "soon"])
def test_bad_reminder_offsets_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.chdir("/")
    monkeypatch.setenv("QTBOT_REMIND_DUTY", value)
    with pytest.raises(ConfigError, match="QTBOT_REMIND_DUTY"):
        load_settings()


@pytest.mark.parametrize(
    ("raw", "meaning"),
    [
        ("Forbidden: bot was kicked from the supergroup chat", "bot đã bị mời ra khỏi nhóm"),
        ("Bad Request: chat not found", "không tìm thấy cuộc trò chuyện"),
        ("chat không còn nhận tin: Forbidden: bot was blocked by the user", "chat không còn nhận tin: người nhận đã"),
        ("Flood control exceeded. Retry in 7 seconds", "gửi quá nhanh"),
        ("Timed out", "mạng chậm, hết thời gian chờ"),
        ("Bad Gateway", "máy chủ của nền tảng đang lỗi"),
        ("Bad Request: can't parse entities: unsupported start tag", "định dạng của tin không hợp lệ"),
        ("Zalo 403: not allowed", "Zalo không cho bot nhắn người này"),
        ("Zalo: sắp hết hạn mức tin trong tháng, bản tin nhường chỗ cho nhắc việc", "Zalo sắp hết hạn mức tin"),
        ("KeyError: 'event'", "lỗi khác (chi tiết trong nhật ký của bot)"),
    ],
)
def test_delivery_errors_read_in_vietnamese(raw: str, meaning: str) -> None:
    assert delivery_error(raw).startswith(meaning)
