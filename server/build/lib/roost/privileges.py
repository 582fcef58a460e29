"""Dropping root after the listening sockets are bound (ports below 1024 need root to bind)."""

from __future__ import annotations

import grp
import os
import pwd


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
