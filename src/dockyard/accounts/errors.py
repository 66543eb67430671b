"""Accounts domain errors; each face renders them in its own wire shape."""

from __future__ import annotations


class AccountsError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidName(AccountsError):
    code = "invalid_name"


class NameTaken(AccountsError):
    status = 409
    code = "name_taken"


class AccountNotFound(AccountsError):
    status = 404
    code = "not_found"


class LastOwner(AccountsError):
    status = 400
    code = "last_owner"
