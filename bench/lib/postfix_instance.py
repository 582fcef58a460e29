"""A private Postfix instance for a benchmark: its own config, queue and data directories.

Never the system's Postfix: every command gets `-c CONFIG_DIR` (postfix(1), postconf(1),
postsuper(1)), the only listener is smtpd on 127.0.0.1 at a high port, and the instance is
stopped with `postfix -c CONFIG_DIR stop`, then waited for by its master's pid.

Mail for `mailbox` is accepted as a virtual(8) mailbox and, depending on `mode`:

- "maildir": delivered to a Maildir under the instance directory (as `nobody`), the whole
  path a message takes in production: smtpd -> cleanup -> queue file (fsynced before the
  250) -> qmgr -> virtual -> Maildir file (fsynced) -> queue file removed.
- "hold": left in the hold queue (smtpd_end_of_data_restrictions answer HOLD), so only the
  ingest path runs: smtpd -> cleanup -> fsynced queue file. With nothing ever leaving the
  queue, Postfix's inflow control (in_flow_delay, which waits for qmgr) would stall smtpd, so
  this mode sets in_flow_delay = 0.

No DNS is used: the sender is not checked, smtp/lmtp host look-ups use the native resolver,
and the client's name comes from /etc/hosts (localhost).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from typing import Literal

from lib.ports import LOOPBACK, free_port

Mode = Literal["maildir", "hold"]
STOP_TIMEOUT = 30.0
QUEUES_IN_FLIGHT = ("maildrop", "incoming", "active", "deferred")

# The services a receive-and-deliver instance needs; everything runs outside a chroot (the
# Debian default chroots, which would need copies of /etc files inside the queue directory).
MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
local      unix  -       n       n       -       -       local
virtual    unix  -       n       n       -       -       virtual
lmtp       unix  -       -       n       -       -       lmtp
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
"""


class PostfixInstance:
    def __init__(
        self, directory: Path, mailbox: str, mode: Mode = "maildir", port: int = 0
    ) -> None:
        """`port` 0 picks a free one when the instance is configured."""
        self.directory = directory
        self.port = port
        self.mailbox = mailbox
        self.mode = mode
        self.config_dir = directory / "etc"
        self.queue_dir = directory / "spool"
        self.data_dir = directory / "data"
        self.mail_dir = directory / "mail"
        self.log = directory / "maillog"
        self.master_pid: int | None = None

    @property
    def maildir_new(self) -> Path:
        local, _, domain = self.mailbox.partition("@")
        return self.mail_dir / domain / local / "new"

    def configure(self) -> None:
        nobody = pwd.getpwnam("nobody")
        self.port = self.port or free_port()
        self.directory.mkdir(mode=0o755)
        for path in (self.config_dir, self.queue_dir, self.data_dir, self.mail_dir):
            path.mkdir(mode=0o755)
        shutil.chown(self.data_dir, "postfix")  # master.lock and the verify/anvil caches
        os.chown(self.mail_dir, nobody.pw_uid, nobody.pw_gid)
        local, _, domain = self.mailbox.partition("@")
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "maillog_file": str(self.log),
            "maillog_file_prefixes": str(self.directory),
            "inet_interfaces": LOOPBACK,
            "inet_protocols": "ipv4",
            "myhostname": "mx.postfix-bench.test",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "",
            "relayhost": "",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "virtual_mailbox_domains": domain,
            "virtual_mailbox_maps": f"inline:{{ {self.mailbox}={domain}/{local}/ }}",
            "virtual_mailbox_base": str(self.mail_dir),
            "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "lmtp_host_lookup": "native",
            "biff": "no",
            "append_dot_mydomain": "no",
            "readme_directory": "no",
        }
        if self.mode == "hold":
            settings["smtpd_end_of_data_restrictions"] = "check_client_access static:HOLD"
            settings["in_flow_delay"] = "0s"
        (self.config_dir / "main.cf").write_text(
            "# Private benchmark instance; see bench/lib/postfix_instance.py.\n"
            + "".join(f"{key} = {value}\n" for key, value in settings.items())
        )
        (self.config_dir / "master.cf").write_text(
            MASTER_CF.format(listen=f"{LOOPBACK}:{self.port}")
        )

    def start(self) -> None:
        self._postfix("start")
        pid_file = self.queue_dir / "pid" / "master.pid"
        self.master_pid = int(pid_file.read_text().strip())
        if not _alive(self.master_pid):
            raise RuntimeError(
                f"postfix master {self.master_pid} is not running:\n{self.log_tail()}"
            )

    def stop(self) -> None:
        """`postfix -c DIR stop`, then wait (bounded) until our master's pid is gone."""
        pid, self.master_pid = self.master_pid, None
        if pid is None:
            pid_file = self.queue_dir / "pid" / "master.pid"
            if not pid_file.exists():
                return
            pid = int(pid_file.read_text().strip() or 0)
        if pid and _alive(pid):
            self._postfix("stop", check=False)
            deadline = time.monotonic() + STOP_TIMEOUT
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                self._postfix("abort", check=False)
                raise RuntimeError(f"postfix master {pid} did not stop; sent abort")

    def in_flight(self) -> int:
        """Messages still in the queue on their way to delivery."""
        return sum(_count_files(self.queue_dir / queue) for queue in QUEUES_IN_FLIGHT)

    def held(self) -> int:
        return _count_files(self.queue_dir / "hold")

    def delivered(self) -> int:
        return _count_files(self.maildir_new)

    def stored(self) -> int:
        """Messages that reached their final place for this mode."""
        return self.held() if self.mode == "hold" else self.delivered()

    def wait_drained(self, timeout: float) -> float:
        """Wait until nothing is in flight (maildir mode); returns when that happened."""
        deadline = time.monotonic() + timeout
        while self.in_flight() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.in_flight():
            raise RuntimeError(
                f"postfix queue not drained after {timeout:.0f}s:\n{self.log_tail()}"
            )
        return time.monotonic()

    def purge_held(self) -> None:
        subprocess.run(
            ["postsuper", "-c", str(self.config_dir), "-d", "ALL", "hold"],
            capture_output=True,
            timeout=120,
            check=True,
        )

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def _postfix(self, command: str, check: bool = True) -> None:
        result = subprocess.run(
            ["postfix", "-c", str(self.config_dir), command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"postfix {command} failed ({result.returncode}):\n{self.log_tail()}"
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not running any more; its parent (init) will reap it.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _count_files(directory: Path) -> int:
    if not directory.exists():
        return 0
    return sum(len(files) for _, _, files in os.walk(directory))
