"""Finding the system programs the tests drive (knotd, postfix, ...), which live in sbin
directories a non-login PATH may lack."""

from __future__ import annotations

import os
import shutil

SBIN_PATH = os.pathsep.join(["/usr/sbin", "/sbin", os.environ.get("PATH", "")])


def find_program(name: str, missing: type[Exception], how_to_get_it: str) -> str:
    """The program's path, or `missing` raised with a message that says how to install it."""
    path = shutil.which(name, path=SBIN_PATH)
    if path is None:
        raise missing(f"{name} not found: {how_to_get_it}")
    return path
