"""Errors in the shape the real service answers: {"Response": {"Error": {...}, "RequestId"}}."""

from __future__ import annotations


class ApiError(Exception):
    """An error the API reports to the caller, with Tencent's code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"Code": self.code, "Message": self.message}
