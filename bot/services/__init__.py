"""Domain services: the bot's logic over the database. No chat library is imported here."""
