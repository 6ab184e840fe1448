"""Errors whose message is meant for the user (in Vietnamese)."""


class UserError(Exception):
    """Bad input or a refused action. The message is shown to the user as is; the surrounding
    transaction is rolled back, so nothing is half-written."""


class PermissionDenied(UserError):
    """The sender's role does not allow this."""
