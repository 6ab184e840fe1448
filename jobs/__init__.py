"""Scheduled work: the reminder planner, the outbox dispatcher, digests and the news fetcher."""
