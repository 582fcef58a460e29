"""Roost's configuration: one TOML file parsed once into typed, frozen dataclasses.

The parsed `Config` is handed to constructors; nothing reads a global config. Every error names
the file, the line, the dotted key, what was wrong and what to write instead, because the person
reading it is editing that file by hand or through an Ansible template.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from roost.dns.resolver import parse_nameserver

T = TypeVar("T")

ENV_VAR = "ROOST_CONFIG"
DEFAULT_PATH = Path("/etc/roost/roost.toml")


class ConfigError(Exception):
    """A configuration problem, already phrased for the person who wrote the file."""


@dataclass(frozen=True)
class Endpoint:
    """An address to listen on; `host` is an IP literal so binding never depends on DNS."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Listeners:
    smtp: tuple[Endpoint, ...] = ()
    submission: tuple[Endpoint, ...] = ()
    submissions: tuple[Endpoint, ...] = ()
    imap: tuple[Endpoint, ...] = ()
    imaps: tuple[Endpoint, ...] = ()


@dataclass(frozen=True)
class TLSConfig:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Limits:
    """Defaults follow common MTA practice (Postfix: 10 MiB size, 50 rcpt; RFC 5321 §4.5.3.2)."""

    max_message_size: int = 25 * 1024 * 1024
    max_recipients: int = 100
    max_connections_per_ip: int = 20
    # Every SMTP listener together; under the usual 1024 file descriptors, with room for the
    # databases, the queue's own connections and the check workers.
    max_connections: int = 500
    # Message bytes read by DATA and not yet answered, all sessions together; each is held a
    # few times over while checked and stored, so this bounds the server's memory for mail.
    max_bytes_in_flight: int = 128 * 1024 * 1024
    command_timeout: float = 300.0
    data_timeout: float = 600.0
    auth_failures_per_ip: int = 10
    auth_failures_per_account: int = 5
    auth_failure_window: float = 900.0
    # Seconds a verified password is remembered (as a keyed hash) for SMTP AUTH and IMAP.
    auth_cache_ttl: float = 3600.0
    # IMAP: RFC 9051 §5.4 wants at least 30 minutes before logging out an idle client.
    imap_idle_timeout: float = 1800.0
    imap_login_timeout: float = 60.0
    imap_connections_per_user: int = 20
    imap_max_line: int = 65536
    # Messages a FETCH or SEARCH reads and answers at a time; a FETCH holds two such
    # batches (one is read ahead while the other is written), whatever the mailbox's size.
    imap_fetch_batch: int = 500


@dataclass(frozen=True)
class DMARCPolicy:
    """What to do with mail failing a sender's published DMARC policy (RFC 7489 §6.3, §10.2)."""

    reject_action: Literal["reject", "junk", "accept"] = "reject"
    quarantine_action: Literal["junk", "accept"] = "junk"


@dataclass(frozen=True)
class DNSConfig:
    nameservers: tuple[str, ...] | None = None
    timeout: float = 5.0


@dataclass(frozen=True)
class ChecksConfig:
    """How the MX runs SPF, DKIM and DMARC on incoming mail.

    ``workers``: processes that run the checks, beside the server process, so they do not
    share its one interpreter lock with the SMTP sessions. ``None`` (key absent, the default)
    means one per CPU the server may use; ``0`` runs them in a thread of the server process
    instead (no extra processes: for a machine with one CPU or very little memory).
    """

    workers: int | None = None
    budget: float = 30.0  # seconds for one message's SPF, DKIM and DMARC together
    spf_budget: float = 20.0  # seconds for one SPF check's look-ups (RFC 7208 §4.6.4)
    max_dkim_signatures: int = 5  # verified per message, top first


@dataclass(frozen=True)
class QueueConfig:
    """Retry timing in seconds. The default schedule ends after 5 days, as RFC 5321 §4.5.4.1
    suggests (give up after 4-5 days), and retries sooner at first, when most problems clear."""

    retry_schedule: tuple[float, ...] = (60, 300, 900, 1800, 3600, 7200, 14400)
    max_age: float = 5 * 86400
    delay_warning: float = 4 * 3600
    max_connections: int = 20
    max_connections_per_domain: int = 3


TLSMode = Literal["implicit", "starttls", "none"]


@dataclass(frozen=True)
class Relay:
    """A fixed next hop: the smarthost or a static route. TLS is always verified when used."""

    host: str
    port: int
    tls: TLSMode
    username: str | None = None
    password_file: Path | None = None


@dataclass(frozen=True)
class Route:
    domain: str
    relay: Relay


@dataclass(frozen=True)
class OutboundConfig:
    mode: Literal["direct", "smarthost"] = "direct"
    smarthost: Relay | None = None
    routes: tuple[Route, ...] = ()
    mx_port: int = 25
    ca_file: Path | None = None


@dataclass(frozen=True)
class Config:
    source: Path
    hostname: str
    state_dir: Path
    tls: TLSConfig
    listeners: Listeners = field(default_factory=Listeners)
    limits: Limits = field(default_factory=Limits)
    dmarc: DMARCPolicy = field(default_factory=DMARCPolicy)
    dns: DNSConfig = field(default_factory=DNSConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    outbound: OutboundConfig = field(default_factory=OutboundConfig)
    run_as_user: str = "roost"
    run_as_group: str | None = None
    log_level: str = "info"

    @property
    def dkim_dir(self) -> Path:
        return self.state_dir / "dkim"


def config_path(cli_value: str | None) -> Path:
    """`-c FILE` wins over `$ROOST_CONFIG`, which wins over the packaged default path."""
    if cli_value:
        return Path(cli_value)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_PATH


def load(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; pass the config with `roost -c FILE` or set {ENV_VAR}, "
            "or create one with `roost init --dev DIR`"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse(text, path)


def parse(text: str, source: Path) -> Config:
    return _Reader(text, source).config(_toml(text, source))


def _toml(text: str, source: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None


_LISTENER_KINDS = ("smtp", "submission", "submissions", "imap", "imaps")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_LOG_LEVELS = ("debug", "info", "warning", "error")


class _Reader:
    """Walks the parsed TOML, checking each key, and knows where each key stands in the text."""

    def __init__(self, text: str, source: Path) -> None:
        self.lines = text.splitlines()
        self.source = source

    def line_of(self, key: str) -> int | None:
        """Best-effort line of a dotted key: tomllib keeps no positions, so find the table header
        and then the key inside it (the header itself for a whole table or a missing key)."""
        table, _, name = key.rpartition(".")
        in_table = table == ""
        header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
        assignment = re.compile(rf"^\s*[\"']?{re.escape(name)}[\"']?\s*=")
        for number, line in enumerate(self.lines, 1):
            match = header.match(line)
            if match:
                if match.group(1) == key:
                    return number
                in_table = match.group(1) == table
                continue
            if in_table and assignment.match(line):
                return number
        # A missing key: point at its table, where it should be added.
        return self.line_of(table) if table else None

    def error(self, key: str, message: str) -> ConfigError:
        line = self.line_of(key)
        where = f"{self.source}:{line}" if line else str(self.source)
        return ConfigError(f"{where}: {key}: {message}")

    def table(self, data: Mapping[str, Any], key: str, allowed: set[str]) -> Mapping[str, Any]:
        value = data.get(key.rpartition(".")[2], {}) if key else data
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{key}]), not {type(value).__name__}")
        for name in value:
            if name not in allowed:
                full = f"{key}.{name}" if key else name
                raise self.error(
                    full, f"unknown key; allowed here: {', '.join(sorted(allowed)) or 'none'}"
                )
        return value

    def value(
        self,
        data: Mapping[str, Any],
        key: str,
        kind: type[T] | tuple[type, ...],
        default: Any = ...,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        name = key.rpartition(".")[2]
        if name not in data:
            if default is ...:
                raise self.error(key, "is required")
            return default
        value = data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.error(key, f"must be {names}, not {type(value).__name__} {value!r}")
        if check is not None:
            problem = check(value)
            if problem:
                raise self.error(key, problem)
        return value

    def config(self, data: Mapping[str, Any]) -> Config:
        top = self.table(
            data,
            "",
            {"hostname", "state_dir", "user", "group", "log_level", "outbound_file"}
            | {"tls", "listeners", "limits", "dmarc", "dns", "checks", "queue", "outbound"},
        )
        hostname = self.value(top, "hostname", str, check=_check_hostname)
        state_dir = Path(self.value(top, "state_dir", str, check=_check_absolute))
        return Config(
            source=self.source,
            hostname=hostname.lower(),
            state_dir=state_dir,
            tls=self.tls(top),
            listeners=self.listeners(top),
            limits=self.limits(top),
            dmarc=self.dmarc(top),
            dns=self.dns(top),
            checks=self.checks(top),
            queue=self.queue(top),
            outbound=self.outbound_source(top),
            run_as_user=self.value(top, "user", str, "roost"),
            run_as_group=self.value(top, "group", str, None),
            log_level=self.value(top, "log_level", str, "info", _one_of(_LOG_LEVELS)),
        )

    def tls(self, top: Mapping[str, Any]) -> TLSConfig:
        if "tls" not in top:
            raise self.error("tls", "is required: a [tls] table with cert and key paths")
        tls = self.table(top, "tls", {"cert", "key"})
        return TLSConfig(
            cert=Path(self.value(tls, "tls.cert", str, check=_check_absolute)),
            key=Path(self.value(tls, "tls.key", str, check=_check_absolute)),
        )

    def listeners(self, top: Mapping[str, Any]) -> Listeners:
        table = self.table(top, "listeners", set(_LISTENER_KINDS))
        parsed: dict[str, tuple[Endpoint, ...]] = {}
        for kind in _LISTENER_KINDS:
            key = f"listeners.{kind}"
            entries = self.value(table, key, list, [])
            endpoints = []
            for entry in entries:
                if not isinstance(entry, str):
                    raise self.error(key, f'entries must be strings like "127.0.0.1:25", {entry!r}')
                try:
                    endpoints.append(parse_endpoint(entry))
                except ValueError as exc:
                    raise self.error(key, str(exc)) from None
            parsed[kind] = tuple(endpoints)
        return Listeners(**parsed)

    def limits(self, top: Mapping[str, Any]) -> Limits:
        defaults = Limits()
        names = set(Limits.__dataclass_fields__)
        table = self.table(top, "limits", names)
        values = {}
        for name in names:
            default = getattr(defaults, name)
            values[name] = self.value(
                table, f"limits.{name}", type(default), default, _check_positive
            )
        return Limits(**values)

    def dmarc(self, top: Mapping[str, Any]) -> DMARCPolicy:
        table = self.table(top, "dmarc", {"reject_action", "quarantine_action"})
        return DMARCPolicy(
            reject_action=self.value(
                table, "dmarc.reject_action", str, "reject", _one_of(("reject", "junk", "accept"))
            ),
            quarantine_action=self.value(
                table, "dmarc.quarantine_action", str, "junk", _one_of(("junk", "accept"))
            ),
        )

    def dns(self, top: Mapping[str, Any]) -> DNSConfig:
        table = self.table(top, "dns", {"nameservers", "timeout"})
        servers = self.value(table, "dns.nameservers", list, None)
        if servers is not None:
            for server in servers:
                try:
                    parse_nameserver(server)
                except (ValueError, AttributeError):
                    raise self.error(
                        "dns.nameservers",
                        f'entries must be "IP" or "IP:PORT" strings, not {server!r}',
                    ) from None
            servers = tuple(servers)
        timeout = self.value(table, "dns.timeout", float, 5.0, _check_positive)
        return DNSConfig(nameservers=servers, timeout=timeout)

    def checks(self, top: Mapping[str, Any]) -> ChecksConfig:
        table = self.table(top, "checks", set(ChecksConfig.__dataclass_fields__))
        workers = self.value(table, "checks.workers", int, None, _check_workers)
        defaults = ChecksConfig()
        return ChecksConfig(
            workers=workers,
            budget=self.value(table, "checks.budget", float, defaults.budget, _check_positive),
            spf_budget=self.value(
                table, "checks.spf_budget", float, defaults.spf_budget, _check_positive
            ),
            max_dkim_signatures=self.value(
                table,
                "checks.max_dkim_signatures",
                int,
                defaults.max_dkim_signatures,
                _check_positive,
            ),
        )

    def queue(self, top: Mapping[str, Any]) -> QueueConfig:
        defaults = QueueConfig()
        table = self.table(top, "queue", set(QueueConfig.__dataclass_fields__))
        schedule = self.value(table, "queue.retry_schedule", list, list(defaults.retry_schedule))
        if not schedule or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in schedule
        ):
            raise self.error(
                "queue.retry_schedule",
                "must be a non-empty list of positive seconds, e.g. [60, 300]",
            )
        values: dict[str, Any] = {"retry_schedule": tuple(float(v) for v in schedule)}
        for name in ("max_age", "delay_warning", "max_connections", "max_connections_per_domain"):
            default = getattr(defaults, name)
            check = _check_not_negative if name == "delay_warning" else _check_positive
            values[name] = self.value(table, f"queue.{name}", type(default), default, check)
        return QueueConfig(**values)

    def outbound_source(self, top: Mapping[str, Any]) -> OutboundConfig:
        """The [outbound] table, here or in `outbound_file`.

        `outbound_file` lets a second writer (the Ansible relay role, which decides between
        direct delivery and a smarthost) own outbound delivery without rewriting this file.
        A missing file means the defaults (direct delivery), so the main config is complete
        before that writer has run. Having both would leave the reader guessing which wins:
        it is an error.
        """
        name = self.value(top, "outbound_file", str, None, _check_absolute)
        if name is None:
            return self.outbound(top)
        if "outbound" in top:
            raise self.error(
                "outbound",
                f"is set here and outbound_file names {name}: keep the [outbound] table in "
                "one of the two files",
            )
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return OutboundConfig()
        except OSError as exc:
            raise self.error("outbound_file", f"cannot read {path}: {exc.strerror}") from None
        included = _Reader(text, path)
        return included.outbound(included.table(_toml(text, path), "", {"outbound"}))

    def outbound(self, top: Mapping[str, Any]) -> OutboundConfig:
        table = self.table(top, "outbound", {"mode", "smarthost", "routes", "mx_port", "ca_file"})
        mode = self.value(table, "outbound.mode", str, "direct", _one_of(("direct", "smarthost")))
        smarthost = None
        if "smarthost" in table:
            smarthost = self.relay(
                self.table(table, "outbound.smarthost", _RELAY_KEYS), "outbound.smarthost"
            )
        if mode == "smarthost" and smarthost is None:
            raise self.error(
                "outbound.mode", 'is "smarthost" but there is no [outbound.smarthost] table'
            )
        routes = []
        for index, entry in enumerate(self.value(table, "outbound.routes", list, [])):
            key = "outbound.routes"
            if not isinstance(entry, dict):
                raise self.error(key, f"entry {index + 1} must be a table ([[outbound.routes]])")
            self.table({"routes": entry}, key, _RELAY_KEYS | {"domain"})
            domain = self.value(entry, f"{key}.domain", str).lower().rstrip(".")
            routes.append(Route(domain, self.relay(entry, key)))
        ca_file = self.value(table, "outbound.ca_file", str, None, _check_absolute)
        return OutboundConfig(
            mode=mode,
            smarthost=smarthost,
            routes=tuple(routes),
            mx_port=self.value(table, "outbound.mx_port", int, 25, _check_port),
            ca_file=Path(ca_file) if ca_file else None,
        )

    def relay(self, table: Mapping[str, Any], key: str) -> Relay:
        host = self.value(table, f"{key}.host", str)
        tls = self.value(
            table, f"{key}.tls", str, "starttls", _one_of(("implicit", "starttls", "none"))
        )
        if tls == "none" and not _is_loopback(host):
            raise self.error(
                f"{key}.tls",
                '"none" sends mail and passwords in clear text; it is allowed only for a '
                'loopback host (tests); use "implicit" (465) or "starttls" (587/2525)',
            )
        username = self.value(table, f"{key}.username", str, None)
        password_file = self.value(table, f"{key}.password_file", str, None, _check_absolute)
        if (username is None) != (password_file is None):
            raise self.error(f"{key}.username", "username and password_file go together")
        default_port = 465 if tls == "implicit" else 587
        return Relay(
            host=host.lower().rstrip("."),
            port=self.value(table, f"{key}.port", int, default_port, _check_port),
            tls=tls,
            username=username,
            password_file=Path(password_file) if password_file else None,
        )


_RELAY_KEYS = {"host", "port", "tls", "username", "password_file"}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _check_port(value: int) -> str | None:
    return None if 0 < value < 65536 else f"{value} is not a port (1-65535)"


def _check_not_negative(value: float) -> str | None:
    return None if value >= 0 else f"must be 0 or more, not {value}"


def parse_endpoint(text: str) -> Endpoint:
    """Accept "IP:PORT" and "[IPv6]:PORT": listeners bind literal addresses, never names."""
    match = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", text)
    if not match:
        raise ValueError(f'"{text}" is not "IP:PORT" (or "[IPv6]:PORT")')
    host = match.group(1) or match.group(3)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f'"{text}": "{host}" is not an IP address') from None
    port = int(match.group(2) or match.group(4))
    if not 0 < port < 65536:
        raise ValueError(f'"{text}": port {port} is outside 1-65535')
    return Endpoint(host, port)


def _check_hostname(value: str) -> str | None:
    if _HOSTNAME.match(value.lower()):
        return None
    return f'"{value}" is not a fully qualified host name (e.g. "mail.example.org")'


def _check_absolute(value: str) -> str | None:
    return None if Path(value).is_absolute() else f'"{value}" must be an absolute path'


def _check_workers(value: int) -> str | None:
    return None if 0 <= value <= 256 else f"must be 0 to 256, not {value}"


def _check_positive(value: float) -> str | None:
    return None if value > 0 else f"must be greater than 0, not {value}"


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f'"{value}" is not one of: {", ".join(choices)}'

    return check
