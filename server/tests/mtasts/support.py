"""Policies the tests serve, and a clock they can move."""

from __future__ import annotations

import time

ENFORCE = "version: STSv1\r\nmode: enforce\r\nmx: mail.{d}\r\nmx: *.mx.{d}\r\nmax_age: 86400\r\n"
TESTING = "version: STSv1\nmode: testing\nmx: mail.{d}\nmax_age: 3600\n"


class Clock:
    """Unix time the tests can move forward (the cache's expiry is what is tested)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
