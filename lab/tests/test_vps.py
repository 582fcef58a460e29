"""The VPS: a booted Debian 12 reached over SSH, whose only package source is the mirror."""

from __future__ import annotations

import socket
import time

import pytest

from conftest import Lab


def vps_connect(lab: Lab, host: str, port: int, timeout: float) -> int:
    """connect_ex() from the VPS: 0 when the TCP handshake completed."""
    code = (
        "import socket\ns = socket.socket()\n"
        f"s.settimeout({timeout})\nprint(s.connect_ex(({host!r}, {port})))\n"
    )
    return int(lab.vps_python(code).stdout.strip())


def test_ssh_and_systemd_running(lab: Lab) -> None:
    assert lab.ssh("systemctl is-system-running").stdout.strip() == "running"
    assert "VERSION_CODENAME=bookworm" in lab.ssh("cat /etc/os-release").stdout
    assert lab.ssh("readlink /proc/1/exe").stdout.strip().endswith("systemd")


def test_fresh_image_has_python_and_little_else(lab: Lab) -> None:
    assert lab.ssh("python3 -c 'import sys; print(sys.version_info[:2])'").stdout.strip() == "(3, 11)"
    assert lab.ssh("dpkg-query -W nginx", check=False).returncode != 0


def test_no_route_out_of_the_lab(lab: Lab) -> None:
    """198.51.100.1 is the lab router; anything beyond the lab is unreachable."""
    assert vps_connect(lab, "192.0.2.1", 80, 3) != 0


def test_mirror_serves_the_package_list(lab: Lab) -> None:
    lab.ssh("apt-get update -q")
    policy = lab.ssh("apt-cache policy nginx python3-venv").stdout
    assert "mirror.lab.test/debian" in policy
    assert (
        lab.ssh(
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ca-certificates "
            "&& update-ca-certificates",
            timeout=180,
        ).returncode
        == 0
    )
    # With the lab roots trusted system-wide, the VPS verifies the lab's HTTPS services.
    check = "import urllib.request\nprint(urllib.request.urlopen('https://acme.lab.test/dir').status)\n"
    assert lab.vps_python(check).stdout.strip() == "200"


def port25_open_from_vps(lab: Lab, timeout: float) -> bool:
    return vps_connect(lab, "mx.peer.test", 25, timeout) == 0


def test_port25_block_switch(lab: Lab) -> None:
    assert port25_open_from_vps(lab, 5)
    lab.tool("lab-port25", "block")
    try:
        assert lab.tool("lab-port25", "status").stdout.strip() == "blocked"
        started = time.monotonic()
        assert not port25_open_from_vps(lab, 3)
        assert time.monotonic() - started >= 2.5  # dropped, not refused: the connect times out
        # Submission to the relay is still allowed, which is the point of the relay.
        assert vps_connect(lab, "relay.lab.test", 587, 5) == 0
        # Only the VPS is blocked: the controller still reaches the peer on 25.
        socket.create_connection(("mx.peer.test", 25), 5).close()
    finally:
        lab.tool("lab-port25", "unblock")
    assert lab.tool("lab-port25", "status").stdout.strip() == "open"
    assert port25_open_from_vps(lab, 5)


@pytest.mark.parametrize(
    "name", ["dnspod.lab.test", "acme.lab.test", "mirror.lab.test", "relay.lab.test", "mx.peer.test"]
)
def test_vps_resolves_lab_names(lab: Lab, name: str) -> None:
    assert lab.ssh(f"getent hosts {name}").stdout.split()[0].count(".") == 3
