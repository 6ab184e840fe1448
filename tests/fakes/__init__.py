"""The project's own fake Bot APIs (Telegram, Zalo) and harnesses; test tooling, not shipped."""
