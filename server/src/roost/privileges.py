"""Dropping root after the listening sockets are bound (ports below 1024 need root to bind)."""

from __future__ import annotations

import grp
import os
import pwd
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


def check_interpreter(user: str, group: str | None) -> None:
    """Fail now, in one line, if `user` cannot read this interpreter, the part of its library
    the check workers import when spawned, or Roost itself: a venv made from a Python under a
    private home (pyenv in /root) once crashed the server after the drop, in a check worker,
    with ModuleNotFoundError. A forked child takes the user's identity and asks the kernel."""
    if os.geteuid() != 0:
        return
    import multiprocessing.popen_spawn_posix as spawn

    import roost

    uid, gid = service_ids(user, group)
    needed = [sys.executable, str(spawn.__file__), str(roost.__file__)]
    pid = os.fork()
    if pid == 0:  # the child: only system calls, then out
        code = 255  # it could not even take the identity
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            code = next((n + 1 for n, p in enumerate(needed) if not os.access(p, os.R_OK)), 0)
        finally:
            os._exit(code)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code == 255:
        raise PrivilegeError(f"cannot switch to user {user} to check what it can read")
    if code:
        raise PrivilegeError(
            f"user {user} cannot read {needed[code - 1]}: install Roost where it can, "
            "e.g. a venv in /opt/roost made from /usr/bin/python3"
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
