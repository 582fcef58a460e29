"""A real Postfix on loopback for tests: the remote MX, or a smarthost that wants SASL.

Usage::

    with PostfixPeer(domains=["peer.test"], reject={"busy@peer.test": "450 4.2.0 try later"}) as mx:
        # deliver to 127.0.0.1:mx.smtp_port (STARTTLS offered; trust mx.ca_cert)
        mx.wait_for("alice@peer.test", 1)          # -> [b"Return-Path: ...", ...]

    with PostfixPeer(sasl_users={"roost": "s3cret"}) as relay:
        # relay.submission_port: STARTTLS then AUTH required (587-style)
        # relay.smtps_port: implicit TLS then AUTH required (465-style)
        relay.wait_for("bob@anywhere.example", 1)  # relayed mail for any domain is kept here

    with SMTPSink(soft_reject=["RCPT"]) as sink:   # Postfix's smtp-sink with fault injection
        ...
        sink.wait_for(1)

Each PostfixPeer is a private Postfix instance (never the system one): its main.cf, master.cf,
queue, data directory, TLS files, SASL database (Cyrus sasldb), Maildir and log all live in one
temporary directory, and it is started with ``postfix -c DIR start`` and stopped by the master pid
it writes (its whole process group is waited for). Nothing is looked up in DNS. Mail for
``domains`` is delivered by virtual(8) to one Maildir, one file per recipient; with
``sasl_users`` (or ``relay_for_loopback``) mail relayed to any other domain is delivered there too
(or forwarded to ``relayhost`` when one is given). :meth:`PostfixPeer.messages` picks a
recipient's files by the ``Delivered-To:`` header virtual(8) prepends. The log (``maillog_file``,
written by postlogd) is at :attr:`PostfixPeer.log_path`; :meth:`PostfixPeer.log` reads it.

Running Postfix needs root (its master and the smtp-sink socket setup do).

Things learnt the hard way (Postfix 3.7, Debian 12):

- Postfix will not read main.cf, master.cf or a table written less than about a second ago: it
  sleeps 300 ms at a time until the file is older. Every file written here is backdated, which
  takes a start from 2.3 s to about 0.2 s.
- As root, ``postfix -c DIR`` needs no ``alternate_config_directories`` entry (that is only for
  the set-gid commands postdrop/postqueue, which these helpers never use), and no default
  /etc/postfix/main.cf has to exist.
- Debian's libsasl2 reads ``$config_directory/sasl/smtpd.conf`` whatever
  ``cyrus_sasl_config_path`` says, so the private smtpd.conf and sasldb live there. Cyrus
  stores users as ``user@realm`` with the realm = ``smtpd_sasl_local_domain`` (set to the host
  name); clients log in with the bare name, and the log shows ``sasl_username=user@host``.
- virtual(8) refuses ``$1`` substitutions from regexp maps, hence one Maildir for everything.
- With ``maillog_file``, a fatal error before postlogd runs is logged nowhere, and Postfix prints
  it only to a terminal: ``postfix start`` runs on a pseudo-terminal so the error reaches the
  exception.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pty
import pwd
import select
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from email.parser import BytesHeaderParser
from pathlib import Path

from tests.procs import (
    StartStop,
    comm,
    free_ports,
    group_alive,
    group_members,
    process_alive,
)
from tests.sbin import SBIN_PATH, find_program
from tests.testca import TestCA

#: Debian packages this module needs (the Makefile's TEST_DEBS should list them).
DEBIAN_PACKAGES = ("postfix", "sasl2-bin", "libsasl2-modules", "libsasl2-modules-db")

_QUEUE_DIRS = [
    "active",
    "bounce",
    "corrupt",
    "defer",
    "deferred",
    "flush",
    "hold",
    "incoming",
    "private",
    "saved",
    "trace",
]
_UNPRIVILEGED_USER = "nobody"  # owns the Maildirs; virtual(8) delivers as this uid


class PostfixNotInstalledError(RuntimeError):
    """Postfix (or saslpasswd2) is missing; the message says how to get it."""


def postfix_program(name: str) -> str:
    return find_program(
        name,
        PostfixNotInstalledError,
        "the tests that drive a real Postfix need the Debian packages "
        f"{' '.join(DEBIAN_PACKAGES)}. Run `make test` (it installs the Debian packages the "
        "tests use), or as root: echo 'postfix postfix/main_mailer_type select No "
        "configuration' | debconf-set-selections && apt-get install -y "
        + " ".join(DEBIAN_PACKAGES),
    )


def require_postfix(*, sasl: bool = False) -> None:
    """Raise :class:`PostfixNotInstalledError` unless postfix (and saslpasswd2) are installed."""
    postfix_program("postfix")
    postfix_program("postconf")
    postfix_program("smtp-sink")
    if sasl:
        postfix_program("saslpasswd2")


# --------------------------------------------------------------------------- TLS


# --------------------------------------------------------------------------- Postfix


def _maildir_files(maildir: Path) -> list[Path]:
    """Every message file in a Maildir (new/ and cur/), oldest first."""
    files: list[Path] = []
    for sub in ("new", "cur"):
        folder = maildir / sub
        if folder.is_dir():
            files.extend(p for p in folder.iterdir() if p.is_file())
    files.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
    return files


def _delivered_to(path: Path) -> str:
    """The Delivered-To: address that virtual(8) put first in a delivered message."""
    with path.open("rb") as handle:
        for line in handle:
            if line in (b"\n", b"\r\n"):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"delivered-to":
                return value.strip().decode("utf-8", "replace").lower()
    return ""


def _map_key(address: str) -> str:
    return address.strip().strip("<>").lower()


def _reply(reply: str) -> str:
    """Check an access-map reply like ``450 4.2.0 try later``; returns it stripped."""
    reply = reply.strip()
    code = reply.split(" ", 1)[0]
    if len(code) != 3 or not code.isdigit() or code[0] not in "45":
        raise ValueError(f"reject reply must start with a 4xx or 5xx code: {reply!r}")
    if "\n" in reply:
        raise ValueError("reject reply must be one line")
    return reply


class PostfixPeer(StartStop):
    """A private Postfix on 127.0.0.1: an MX for ``domains`` and, with ``sasl_users``, a smarthost.

    Ports (chosen free when not given): :attr:`smtp_port` is plain SMTP with STARTTLS offered
    and no AUTH, accepting mail for ``domains`` only (relay refused, ``554 5.7.1``). With
    ``sasl_users`` there are also :attr:`submission_port` (STARTTLS required before AUTH, AUTH
    required before MAIL) and :attr:`smtps_port` (implicit TLS, AUTH required); authenticated
    clients may relay to any domain. Server certificates are for ``hostname`` (and 127.0.0.1),
    signed by a CA made per instance: :attr:`ca_cert` / :meth:`client_context`.

    ``reject`` maps a recipient (address, or a bare domain) to an access-map reply such as
    ``"450 4.2.0 try later"``; it applies on every port at RCPT time and can be changed while
    running with :meth:`set_reject`. ``relayhost`` (``"[127.0.0.1]:2526"``) forwards mail for
    other domains with Postfix's SMTP client instead of keeping it here. ``relay_for_loopback``
    lets any client on 127.0.0.0/8 relay without AUTH on :attr:`smtp_port` (Postfix as the
    relaying MTA in a benchmark); submission and smtps still want AUTH. ``main_cf`` adds or
    overrides main.cf parameters.
    """

    def __init__(
        self,
        domains: Iterable[str] = ("peer.test",),
        *,
        hostname: str = "mx.peer.test",
        reject: Mapping[str, str] | None = None,
        sasl_users: Mapping[str, str] | None = None,
        relayhost: str | None = None,
        relay_for_loopback: bool = False,
        smtp_port: int | None = None,
        submission_port: int | None = None,
        smtps_port: int | None = None,
        address: str = "127.0.0.1",
        main_cf: Mapping[str, str] | None = None,
        start_timeout: float = 30.0,
        quick_start: bool = False,
    ) -> None:
        self.domains = [d.strip().lower().rstrip(".") for d in domains]
        if not self.domains:
            raise ValueError("PostfixPeer needs at least one domain")
        self.hostname = hostname
        self.address = address
        self.sasl_users = dict(sasl_users or {})
        self.relayhost = relayhost
        self.relay_for_loopback = relay_for_loopback
        self._reject = {_map_key(k): _reply(v) for k, v in (reject or {}).items()}
        self._ports_wanted = (smtp_port, submission_port, smtps_port)
        self._main_cf_extra = dict(main_cf or {})
        self._start_timeout = start_timeout
        self._quick_start = quick_start
        self.smtp_port = 0
        self.submission_port: int | None = None
        self.smtps_port: int | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.root = Path()
        self.config_dir = Path()
        self.queue_dir = Path()
        self.mail_dir = Path()
        self._recipients: dict[str, str] = {}
        self.log_path = Path()
        self.ca: TestCA | None = None
        self._ca_path = Path()
        self.master_pid: int | None = None
        self.startup_seconds = 0.0

    # ---------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Write the configuration, start the master and wait until every port answers."""
        if os.geteuid() != 0:
            raise PermissionError("a private Postfix instance must be started as root")
        postfix = postfix_program("postfix")
        postfix_program("postconf")
        if self.sasl_users:
            postfix_program("saslpasswd2")
        began = time.monotonic()
        self._tmp = tempfile.TemporaryDirectory(prefix="roost-postfix-")
        try:
            self._configure(Path(self._tmp.name))
            code, output = _run_on_tty(
                [postfix, "-c", str(self.config_dir), "start"], self._env(), self._start_timeout
            )
            if code != 0:
                raise RuntimeError(
                    f"postfix -c {self.config_dir} start failed ({code}):\n{output}"
                    f"--- maillog ---\n{self.log()}"
                )
            self.master_pid = self._read_master_pid()
            # `postfix start` returns once the master has bound every listening socket
            # (master -w); one banner read proves smtpd processes really start.
            self._wait_banner(self.smtp_port, time.monotonic() + self._start_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the master (SIGTERM to its pid) and wait until its whole process group is gone.

        Falls back to ``postfix -c DIR abort`` and then SIGKILL to the group. The temporary
        directory is removed afterwards (set ROOST_KEEP_POSTFIX=1 to keep it).
        """
        pid = self.master_pid
        if pid is None and self._tmp is not None:
            with contextlib.suppress(RuntimeError):
                pid = self._read_master_pid(wait=0)
        if pid is not None:
            self._terminate_group(pid, timeout)
        self.master_pid = None
        if self._tmp is not None:
            if os.environ.get("ROOST_KEEP_POSTFIX"):
                print(f"kept Postfix directory {self._tmp.name}")
            else:
                self._tmp.cleanup()
            self._tmp = None

    def _terminate_group(self, pid: int, timeout: float) -> None:
        if not self._is_our_master(pid):
            return  # already gone (and the pid maybe reused): signal nothing
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not group_alive(pid):
                return
            time.sleep(0.02)
        with contextlib.suppress(Exception):
            subprocess.run(
                [postfix_program("postfix"), "-c", str(self.config_dir), "abort"],
                capture_output=True,
                timeout=10,
                env=self._env(),
            )
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _is_our_master(self, pid: int) -> bool:
        """Whether ``pid`` is this instance's master (it runs in our queue directory)."""
        try:
            return Path(os.readlink(f"/proc/{pid}/cwd")) == self.queue_dir.resolve()
        except OSError:
            return False

    def running(self) -> bool:
        """Whether the master process is alive."""
        return self.master_pid is not None and process_alive(self.master_pid)

    def processes(self) -> list[int]:
        """Pids of the master and every process in its process group (its daemons)."""
        if self.master_pid is None:
            return []
        return group_members(self.master_pid)

    def ports(self) -> list[int]:
        """Every port this instance listens on."""
        return [p for p in (self.smtp_port, self.submission_port, self.smtps_port) if p]

    # ---------------------------------------------------------------- what tests use

    @property
    def ca_cert(self) -> Path:
        """The PEM file of the CA that signed this instance's server certificate."""
        assert self.ca is not None, "not started"
        return self._ca_path

    def client_context(self) -> ssl.SSLContext:
        """An SSL client context trusting only this instance's CA (host names are checked)."""
        assert self.ca is not None, "not started"
        return self.ca.client_context()

    @property
    def maildir(self) -> Path:
        """The one Maildir every delivered message lands in (one file per recipient)."""
        return self.mail_dir / "all"

    def _index(self) -> list[tuple[str, Path]]:
        """(Delivered-To address, file) for every delivered message, oldest first."""
        out: list[tuple[str, Path]] = []
        for path in _maildir_files(self.maildir):
            key = str(path.name)
            if key not in self._recipients:
                with contextlib.suppress(FileNotFoundError):
                    self._recipients[key] = _delivered_to(path)
            out.append((self._recipients.get(key, ""), path))
        return out

    def messages(self, address: str) -> list[bytes]:
        """Every message delivered to ``address`` so far, oldest first.

        As stored by virtual(8): LF line endings, with ``Return-Path:``, ``Delivered-To:`` and
        ``X-Original-To:`` (and Postfix's ``Received:``) prepended. The address is compared
        without regard to case.
        """
        wanted = _map_key(address)
        return [p.read_bytes() for rcpt, p in self._index() if rcpt == wanted]

    def delivered(self) -> dict[str, list[bytes]]:
        """Every message delivered so far (to any address), by recipient address, lower-cased."""
        out: dict[str, list[bytes]] = {}
        for rcpt, path in self._index():
            out.setdefault(rcpt, []).append(path.read_bytes())
        return out

    def message_ids(self, address: str | None = None) -> list[str]:
        """The Message-ID of every delivery (to ``address``, or to anyone), duplicates kept."""
        ids: list[str] = []
        for rcpt, path in self._index():
            if address is not None and rcpt != _map_key(address):
                continue
            with contextlib.suppress(FileNotFoundError):
                headers = BytesHeaderParser().parsebytes(path.read_bytes())
                ids.append(str(headers.get("Message-ID", "")).strip())
        return ids

    def count(self) -> int:
        """How many deliveries (message files, one per recipient) there have been."""
        return len(_maildir_files(self.maildir))

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[bytes]:
        """Poll until ``address`` has at least ``count`` messages; returns them all.

        Raises ``TimeoutError`` with the tail of the Postfix log when they do not arrive.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(address)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{address}: {len(found)} of {count} messages after {timeout}s; "
                    f"maillog tail:\n{self.log(tail=40)}"
                )
            time.sleep(0.05)

    def queue_size(self) -> int:
        """Messages still in this Postfix's queue (incoming, active, deferred, hold)."""
        total = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            folder = self.queue_dir / sub
            if folder.is_dir():
                total += sum(len(files) for _, _, files in os.walk(folder))
        return total

    def log(self, tail: int | None = None) -> str:
        """The instance's maillog (or its last ``tail`` lines)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        if tail is not None:
            text = "\n".join(text.splitlines()[-tail:])
        return text

    def set_reject(self, reject: Mapping[str, str], timeout: float = 10.0) -> None:
        """Replace the ``reject`` map while running; the next SMTP session sees the new one.

        The table is read when an smtpd process starts, so this reloads the master (SIGHUP to
        its pid, as ``postfix reload`` does) and waits until every smtpd that had the old table
        has exited; a session still open keeps the old table until it ends (waited for up to
        ``timeout`` seconds).
        """
        self._reject = {_map_key(k): _reply(v) for k, v in reject.items()}
        self._write_reject_map()
        self.reload(timeout)

    def reload(self, timeout: float = 10.0) -> None:
        """Make the master re-read its configuration and wait until the old smtpds are gone."""
        if self.master_pid is None:
            raise RuntimeError("not running")
        old = [pid for pid in self.processes() if comm(pid) == "smtpd"]
        reloads = self.log().count("reload -- version")
        os.kill(self.master_pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.log().count("reload -- version") <= reloads or any(map(process_alive, old)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reload did not finish:\n{self.log(tail=20)}")
            time.sleep(0.02)

    def postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``postfix -c DIR ARGS`` (e.g. ``flush``, ``reload``) for this instance."""
        result = subprocess.run(
            [postfix_program("postfix"), "-c", str(self.config_dir), *args],
            capture_output=True,
            text=True,
            timeout=30,
            env=self._env(),
        )
        if result.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(args)}: {result.stdout}{result.stderr}")
        return result

    def postconf(self, *args: str) -> str:
        """``postconf -c DIR ARGS`` for this instance, e.g. ``postconf("-n")``."""
        return subprocess.run(
            [postfix_program("postconf"), "-c", str(self.config_dir), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout

    # ---------------------------------------------------------------- configuration

    @property
    def _syslog_name(self) -> str:
        return f"peer{self.smtp_port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = SBIN_PATH
        env.pop("MAIL_CONFIG", None)
        return env

    def _configure(self, root: Path) -> None:
        self.root = root
        root.chmod(0o755)  # the postfix user and the delivery uid must reach inside
        self.config_dir = root / "conf"
        self.queue_dir = root / "queue"
        self.mail_dir = root / "mail"
        data_dir = root / "data"
        log_dir = root / "log"
        tls_dir = root / "tls"
        for folder in (self.config_dir, self.queue_dir, log_dir):
            folder.mkdir(mode=0o755)
        self.log_path = log_dir / "maillog"

        postfix_user = pwd.getpwnam("postfix")
        data_dir.mkdir(mode=0o700)
        os.chown(data_dir, postfix_user.pw_uid, postfix_user.pw_gid)
        delivery_user = pwd.getpwnam(_UNPRIVILEGED_USER)
        self.mail_dir.mkdir(mode=0o755)
        os.chown(self.mail_dir, delivery_user.pw_uid, delivery_user.pw_gid)

        tls_dir.mkdir(mode=0o755)
        self.ca = TestCA()
        self._ca_path = self.ca.write(tls_dir / "ca.pem")
        chain, key_pem = self.ca.issue(self.hostname, ip=self.address)
        cert, key = tls_dir / f"{self.hostname}.pem", tls_dir / f"{self.hostname}.key"
        cert.write_bytes(chain)
        key.write_bytes(key_pem)
        tls_dir.chmod(0o755)
        key.chmod(0o640)
        os.chown(key, 0, postfix_user.pw_gid)

        wanted_smtp, wanted_sub, wanted_smtps = self._ports_wanted
        spare = iter(free_ports(self.address, 3))
        self.smtp_port = wanted_smtp or next(spare)
        if self.sasl_users:
            self.submission_port = wanted_sub or next(spare)
            self.smtps_port = wanted_smtps or next(spare)

        # Debian's libsasl2 looks in $config_directory/sasl whatever cyrus_sasl_config_path says
        sasl_dir = self.config_dir / "sasl"
        if self.sasl_users:
            self._make_sasldb(sasl_dir, postfix_user.pw_gid)

        self._write_reject_map()
        main = self._main_cf(data_dir, cert, key, sasl_dir)
        main.update(self._main_cf_extra)
        (self.config_dir / "main.cf").write_text(
            "# written by tests/postfix.py\n" + "".join(f"{k} = {v}\n" for k, v in main.items())
        )
        (self.config_dir / "master.cf").write_text(self._master_cf())
        self._make_queue(postfix_user.pw_uid)
        for path in self.config_dir.iterdir():
            _backdate(path)

    def _make_queue(self, postfix_uid: int) -> None:
        """Make the queue directories as postfix-files says, so start can skip its check.

        ``postfix start`` runs ``postfix check`` (post-install creating and checking every
        directory, then a find over the queue), about 2 seconds on a fresh queue, unless the
        queue holds a ``quick-start`` file. The layout is the one /etc/postfix/postfix-files
        gives (owner, group, mode).
        """
        postdrop_gid = grp.getgrnam("postdrop").gr_gid
        layout = {name: (postfix_uid, -1, 0o700) for name in _QUEUE_DIRS}
        layout["maildrop"] = (postfix_uid, postdrop_gid, 0o730)
        layout["public"] = (postfix_uid, postdrop_gid, 0o710)
        layout["pid"] = (0, -1, 0o755)
        for name, (uid, gid, mode) in layout.items():
            path = self.queue_dir / name
            path.mkdir()
            os.chown(path, uid, gid)
            path.chmod(mode)
        if self._quick_start:
            (self.queue_dir / "quick-start").touch()

    def _write_reject_map(self) -> None:
        path = self.config_dir / "reject"
        tmp = path.with_suffix(".new")
        tmp.write_text("".join(f"{k}\t{v}\n" for k, v in self._reject.items()))
        _backdate(tmp)
        tmp.replace(path)

    def _make_sasldb(self, sasl_dir: Path, postfix_gid: int) -> None:
        sasl_dir.mkdir(mode=0o755)
        os.chown(sasl_dir, 0, postfix_gid)
        db = sasl_dir / "sasldb2"
        (sasl_dir / "smtpd.conf").write_text(
            "pwcheck_method: auxprop\n"
            "auxprop_plugin: sasldb\n"
            "mech_list: PLAIN LOGIN\n"
            f"sasldb_path: {db}\n"
        )
        for user, password in self.sasl_users.items():
            if "\n" in password or "\n" in user:
                raise ValueError("SASL user names and passwords must be one line")
            result = subprocess.run(
                [
                    postfix_program("saslpasswd2"),
                    "-f",
                    str(db),
                    "-c",
                    "-p",
                    "-u",
                    self.hostname,
                    user,
                ],
                input=password,
                capture_output=True,
                text=True,
                timeout=30,
            )
            if result.returncode != 0:
                raise RuntimeError(f"saslpasswd2 {user}: {result.stdout}{result.stderr}")
        db.chmod(0o640)
        os.chown(db, 0, postfix_gid)

    def _main_cf(self, data_dir: Path, cert: Path, key: Path, sasl_dir: Path) -> dict[str, str]:
        conf = self.config_dir
        other_domains = "smtp" if self.relayhost else "virtual"
        main: dict[str, str] = {
            "compatibility_level": "3.6",
            "config_directory": str(conf),
            "queue_directory": str(self.queue_dir),
            "data_directory": str(data_dir),
            "maillog_file": str(self.log_path),
            "maillog_file_prefixes": str(self.root),
            "syslog_name": self._syslog_name,
            "myhostname": self.hostname,
            "mydomain": self.hostname.partition(".")[2] or self.hostname,
            "myorigin": "$myhostname",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "relay_domains": "",
            "append_dot_mydomain": "no",
            "biff": "no",
            "inet_interfaces": self.address,
            "inet_protocols": "ipv4",
            "smtpd_banner": f"{self.hostname} ESMTP Postfix (roost test peer)",
            "smtpd_peername_lookup": "no",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "delay_warning_time": "0",
            "smtp_connect_timeout": "5s",
            "smtpd_error_sleep_time": "0",
            "smtpd_soft_error_limit": "1000",
            "smtpd_hard_error_limit": "1000",
            "smtpd_client_restrictions": "",
            "smtpd_helo_restrictions": "",
            "smtpd_sender_restrictions": "",
            "smtpd_relay_restrictions": ("permit_mynetworks, " if self.relay_for_loopback else "")
            + "permit_sasl_authenticated, reject_unauth_destination",
            "smtpd_recipient_restrictions": f"check_recipient_access texthash:{conf}/reject",
            "smtpd_tls_chain_files": f"{key}, {cert}",
            "smtpd_tls_security_level": "may",
            "smtpd_tls_loglevel": "1",
            "smtpd_tls_received_header": "yes",
            "smtpd_sasl_auth_enable": "no",
            "smtpd_sasl_type": "cyrus",
            "smtpd_sasl_path": "smtpd",
            "cyrus_sasl_config_path": str(sasl_dir),
            "smtpd_sasl_local_domain": "$myhostname",
            "smtpd_sasl_security_options": "noanonymous",
            "smtpd_sasl_authenticated_header": "yes",
            "smtp_tls_security_level": "may",
            "smtp_tls_CAfile": str(self.ca_cert),
            "virtual_mailbox_domains": " ".join(self.domains),
            "virtual_mailbox_base": str(self.mail_dir),
            # virtual(8) refuses $1 substitutions from regexp maps, so every recipient
            # shares one Maildir and messages() picks by the Delivered-To: header.
            "virtual_mailbox_maps": "static:all/",
            "virtual_uid_maps": f"static:{pwd.getpwnam(_UNPRIVILEGED_USER).pw_uid}",
            "virtual_gid_maps": f"static:{pwd.getpwnam(_UNPRIVILEGED_USER).pw_gid}",
            "virtual_mailbox_limit": "0",
            "message_size_limit": "52428800",
            "default_transport": other_domains,
            "relay_transport": other_domains,
            "relayhost": self.relayhost or "",
            "default_destination_concurrency_limit": "20",
        }
        return main

    def _master_cf(self) -> str:
        a = self.address
        lines = [
            "# written by tests/postfix.py; chroot off everywhere",
            "# service type private unpriv chroot wakeup maxproc command",
            f"{a}:{self.smtp_port} inet n - n - - smtpd",
            f"  -o syslog_name={self._syslog_name}/mx",
        ]
        auth_only = [
            "  -o smtpd_sasl_auth_enable=yes",
            "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject",
            "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject",
        ]
        if self.submission_port:
            lines += [
                f"{a}:{self.submission_port} inet n - n - - smtpd",
                f"  -o syslog_name={self._syslog_name}/submission",
                "  -o smtpd_tls_security_level=encrypt",
                "  -o smtpd_tls_auth_only=yes",
                *auth_only,
            ]
        if self.smtps_port:
            lines += [
                f"{a}:{self.smtps_port} inet n - n - - smtpd",
                f"  -o syslog_name={self._syslog_name}/smtps",
                "  -o smtpd_tls_wrappermode=yes",
                *auth_only,
            ]
        lines += [
            "pickup    unix  n       -       n       60      1       pickup",
            "cleanup   unix  n       -       n       -       0       cleanup",
            "qmgr      unix  n       -       n       300     1       qmgr",
            "tlsmgr    unix  -       -       n       1000?   1       tlsmgr",
            "rewrite   unix  -       -       n       -       -       trivial-rewrite",
            "bounce    unix  -       -       n       -       0       bounce",
            "defer     unix  -       -       n       -       0       bounce",
            "trace     unix  -       -       n       -       0       bounce",
            "verify    unix  -       -       n       -       1       verify",
            "flush     unix  n       -       n       1000?   0       flush",
            "proxymap  unix  -       -       n       -       -       proxymap",
            "proxywrite unix -       -       n       -       1       proxymap",
            "smtp      unix  -       -       n       -       -       smtp",
            "relay     unix  -       -       n       -       -       smtp",
            "showq     unix  n       -       n       -       -       showq",
            "error     unix  -       -       n       -       -       error",
            "retry     unix  -       -       n       -       -       error",
            "discard   unix  -       -       n       -       -       discard",
            "local     unix  -       n       n       -       -       local",
            "virtual   unix  -       n       n       -       -       virtual",
            "lmtp      unix  -       -       n       -       -       lmtp",
            "anvil     unix  -       -       n       -       1       anvil",
            "scache    unix  -       -       n       -       1       scache",
            "postlog   unix-dgram n  -       n       -       1       postlogd",
        ]
        return "\n".join(lines) + "\n"

    # ---------------------------------------------------------------- helpers

    def _read_master_pid(self, wait: float = 10.0) -> int:
        path = self.queue_dir / "pid" / "master.pid"
        deadline = time.monotonic() + wait
        while True:
            with contextlib.suppress(OSError, ValueError):
                return int(path.read_text().split()[0])
            if time.monotonic() >= deadline:
                raise RuntimeError(f"no master pid in {path}:\n{self.log(tail=40)}")
            time.sleep(0.02)

    def _wait_banner(self, port: int, deadline: float) -> None:
        while True:
            try:
                with socket.create_connection((self.address, port), timeout=5) as sock:
                    banner = sock.recv(512)
                    sock.sendall(b"QUIT\r\n")
                if banner.startswith(b"220 "):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no SMTP banner on port {port}:\n{self.log(tail=40)}")
            time.sleep(0.05)


def _run_on_tty(command: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run ``command`` with stdout/stderr on a pseudo-terminal; returns (exit code, output).

    Postfix commands print their fatal errors (``no local interface found for ...``) to stderr
    only when it is a terminal; otherwise they only log them, and with ``maillog_file`` an error
    before postlogd runs is logged nowhere.
    """
    master_fd, slave_fd = pty.openpty()
    chunks: list[bytes] = []
    try:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=slave_fd, stderr=slave_fd, env=env
        )
        os.close(slave_fd)
        slave_fd = -1
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select([master_fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master_fd, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    chunk = b""
                if chunk:
                    chunks.append(chunk)
                    continue
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                break
            if proc.poll() is not None:
                break  # the daemon it started may keep the terminal open: stop at its exit
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise TimeoutError(f"{' '.join(command)} took over {timeout}s")
        code = proc.wait()
    finally:
        if slave_fd >= 0:
            os.close(slave_fd)
        os.close(master_fd)
    return code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def _backdate(path: Path) -> None:
    """Set a file's times 10 s into the past.

    Postfix will not read main.cf, master.cf or a table written within the last second or so
    (a guard against half-written files): it sleeps 300 ms at a time until the file is old
    enough, which made every start take 2 seconds.
    """
    past = time.time() - 10
    os.utime(path, (past, past))
