"""Test helpers: a fake Telegram Bot API (see :mod:`bot.testing.fake_telegram`)."""
