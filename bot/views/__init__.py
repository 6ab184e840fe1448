"""Vietnamese texts and button layouts, one module per area, apart from the logic (STYLE.md).

Views turn domain objects into :class:`bot.messages.Reply` markup; they never query the database.
"""
