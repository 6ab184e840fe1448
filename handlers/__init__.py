"""Chat commands and plain questions: parse, call services, reply. No chat library is imported here."""
