"""The files nginx serves for each mail domain (the mta_sts role's site), planned and written.

One directory per domain under the web root: ``.well-known/mta-sts.txt`` (RFC 8461 §3.2)
and ``mail/config-v1.1.xml`` (Thunderbird autoconfig). Planning first and writing after lets
Ansible's check mode show the same changes a real run makes, and a re-run that finds every
file as wanted reads them and writes nothing (one module run on the VPS, not one per file).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

FILE_MODE = 0o644
DIR_MODE = 0o755

#: A domain name as one path component: no slash, no leading or doubled dot (never ``..``).
_DOMAIN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class WebRootError(ValueError):
    """A domain that cannot name a directory, or a web root path that is not a directory."""


@dataclass(frozen=True)
class Change:
    """One step towards the wanted tree: ``write`` a file (``before`` is its old text, None
    if missing), ``mkdir``, ``fix`` the mode or owner of a file or directory that drifted
    (the owner is whoever runs this: root on the VPS), or ``remove`` an absent domain's
    directory."""

    action: str
    path: Path
    before: str | None = None
    after: str | None = None


def domain_dir(root: Path, domain: str) -> Path:
    """ROOT/DOMAIN, refusing any name that could point outside ROOT."""
    if not _DOMAIN.match(domain) or ".." in domain:
        raise WebRootError(
            f"{domain!r} is not a domain name: it cannot name a directory under {root}"
        )
    return root / domain


def site_files(root: Path, domain: str, policy: str, thunderbird: str) -> dict[Path, str]:
    """Where each document of DOMAIN goes (the nginx configuration names the same paths)."""
    base = domain_dir(root, domain)
    return {
        base / ".well-known" / "mta-sts.txt": policy,
        base / "mail" / "config-v1.1.xml": thunderbird,
    }


def _read(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8", newline="") as file:  # the policy's CRLF kept as is
            return file.read()
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, IsADirectoryError):
        return ""  # not ours as written: replaced (a directory in the way fails the write)


def _attributes_ok(path: Path, mode: int) -> bool:
    status = path.lstat()
    owner = (status.st_uid, status.st_gid) == (os.geteuid(), os.getegid())
    return owner and stat.S_IMODE(status.st_mode) == mode


def plan(root: Path, files: Mapping[Path, str], absent: Iterable[str]) -> list[Change]:
    """The changes that make ROOT hold FILES (mode 0644, in 0755 directories) and no
    directory for the ABSENT domains; empty when everything is already so."""
    changes: list[Change] = []
    directories = sorted({p for f in files for p in f.parents if p.is_relative_to(root)})
    for directory in directories:
        if not directory.exists() and not directory.is_symlink():
            changes.append(Change("mkdir", directory))
        elif not directory.is_dir() or directory.is_symlink():
            raise WebRootError(f"{directory} is in the way: a directory belongs there")
        elif not _attributes_ok(directory, DIR_MODE):
            changes.append(Change("fix", directory))
    for path, text in sorted(files.items()):
        before = _read(path)
        if before != text:
            changes.append(Change("write", path, before, text))
        elif not _attributes_ok(path, FILE_MODE):
            changes.append(Change("fix", path))
    for domain in sorted(absent):
        directory = domain_dir(root, domain)
        if directory.exists() or directory.is_symlink():
            changes.append(Change("remove", directory))
    return changes


def _write(path: Path, text: str) -> None:
    """Replaces PATH atomically, so nginx never serves half a policy."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def apply(changes: Iterable[Change]) -> None:
    """Carries out a plan (in its order: directories before the files in them)."""
    for change in changes:
        if change.action == "mkdir":
            change.path.mkdir(mode=DIR_MODE, parents=True)
            change.path.chmod(DIR_MODE)  # mkdir's mode is filtered by the umask
        elif change.action == "fix":
            os.chown(change.path, os.geteuid(), os.getegid(), follow_symlinks=False)
            change.path.chmod(DIR_MODE if change.path.is_dir() else FILE_MODE)
        elif change.action == "write":
            _write(change.path, change.after or "")
        elif change.action == "remove":
            if change.path.is_dir() and not change.path.is_symlink():
                shutil.rmtree(change.path)
            else:
                change.path.unlink()
