"""Transports: each turns platform updates into :class:`bot.messages.Incoming` and sends replies."""
