"""Dropping root after the listening sockets are bound (ports below 1024 need root to bind)."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import sys


class PrivilegeError(Exception):
    pass


def service_ids(user: str, group: str | None) -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise PrivilegeError(
            f'user "{user}" does not exist: create it (useradd --system {user}) '
            "or set `user` in the config to an existing unprivileged account"
        ) from None
    if entry.pw_uid == 0:
        raise PrivilegeError(
            "refusing to run as root after binding: set `user` in the config to an "
            "unprivileged account"
        )
    if group is None:
        return entry.pw_uid, entry.pw_gid
    try:
        return entry.pw_uid, grp.getgrnam(group).gr_gid
    except KeyError:
        raise PrivilegeError(f'group "{group}" does not exist: create it or fix `group`') from None


# What the server runs after the drop: its own package and the check workers, which are
# spawned afresh and import multiprocessing's spawn machinery from the interpreter's library.
_AFTER_DROP = "import multiprocessing.popen_spawn_posix, roost.serve"


def check_interpreter(user: str, group: str | None) -> None:
    """Fail now, in one line, if `user` cannot run this interpreter and import Roost: a venv
    made from a Python under a private home (pyenv in /root) once crashed the server after
    the drop, in a check worker, with ModuleNotFoundError."""
    if os.geteuid() != 0:
        return
    uid, gid = service_ids(user, group)
    try:
        result = subprocess.run(
            [sys.executable, "-c", _AFTER_DROP],
            user=uid,
            group=gid,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
        )
    except OSError as exc:
        result = subprocess.CompletedProcess([], 1, "", str(exc))
    if result.returncode != 0:
        error = (result.stderr.strip().splitlines() or ["cannot start"])[-1]
        raise PrivilegeError(
            f"user {user} cannot run {sys.executable} ({error}): install Roost where it can "
            "read, e.g. a venv in /opt/roost made from /usr/bin/python3"
        )


def drop_to(user: str, group: str | None) -> bool:
    """Become `user` if we are root; returns whether privileges were dropped."""
    if os.geteuid() != 0:
        return False
    uid, gid = service_ids(user, group)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    os.umask(0o077)
    return True
