"""Quyết Thắng Bot: a chat bot for Vietnamese military emulation clusters (cụm thi đua)."""

__version__ = "0.1.0"
