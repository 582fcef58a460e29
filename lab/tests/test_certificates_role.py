"""The certificates role on the lab VPS: check mode on a fresh VPS says what it would do;
a run issues from Pebble through the DNSPod stand-in, writes the settings and installs the
timer; a second run changes nothing and does not contact the CA; the timer's service runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from test_certificates import pebble_requests

from conftest import LAB_DIR, Lab

REPO = LAB_DIR.parent
PLAYBOOK = LAB_DIR / "tests" / "playbooks" / "certificates.yml"
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def play(lab: Lab, *args: str, install: bool = False) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # Every lab's VPS is 198.51.100.10: a shared ~/.ansible/cp would hand this run the
        # SSH connection another lab's Ansible left open.
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(lab.state / "ansible-cp"),
        "ANSIBLE_LIBRARY": str(REPO / "library"),
        "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
        "ANSIBLE_NOCOLOR": "1",
        "ROOST_TEST_INSTALL": "1" if install else "0",
    }
    command = [PLAYBOOK_BIN, "-i", str(REPO / "inventories" / "lab"), str(PLAYBOOK), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, check=False)


def recap(output: str) -> dict[str, int]:
    found = re.search(r"^vps\s*:\s*(.*)$", output, re.MULTILINE)
    assert found, output
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", found.group(1))}


def test_role_check_mode_on_a_fresh_vps(lab: Lab) -> None:
    """A venv path that does not exist stands for a VPS the roost role has not reached yet
    (other lab tests may have installed /opt/roost already)."""
    done = play(lab, "--check", "--diff", "-e", "certificates_venv=/opt/not-installed")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "would issue one certificate from https://acme.lab.test/dir" in done.stdout
    assert "autodiscover.second.test" in done.stdout
    assert "gone.test" not in done.stdout
    assert lab.ssh("test -e /opt/not-installed", check=False).returncode != 0


def test_role_issues_then_changes_nothing(lab: Lab) -> None:
    lab.ssh("rm -rf /etc/roost/tls")  # whatever an earlier test left: this run must issue
    first = play(lab, install=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap(first.stdout)["failed"] == 0
    assert "handler Restart roost notified" in first.stdout
    assert "handler Reload nginx notified" in first.stdout
    stat = lab.ssh(
        "stat -c '%a %U %G' /etc/roost/tls/privkey.pem /etc/roost/acme.json /etc/roost/acme/account.key"
    ).stdout.split("\n")
    assert stat[:3] == ["640 root roost", "600 root root", "600 root root"]
    names = lab.ssh("openssl x509 -in /etc/roost/tls/fullchain.pem -noout -ext subjectAltName").stdout
    assert "mta-sts.second.test" in names and "mail.example.test" in names
    assert lab.ssh("systemctl is-enabled roost-cert-renew.timer").stdout.strip() == "enabled"

    before = pebble_requests(lab)
    second = play(lab)
    assert second.returncode == 0, second.stdout + second.stderr
    assert recap(second.stdout)["changed"] == 0, second.stdout
    assert pebble_requests(lab) == before

    checked = play(lab, "--check", "--diff")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert recap(checked.stdout)["changed"] == 0, checked.stdout

    lab.ssh("systemctl start roost-cert-renew.service", timeout=300)
    journal = lab.ssh("journalctl -u roost-cert-renew.service --no-pager -o cat").stdout
    assert "certificate not due" in journal
    assert pebble_requests(lab) == before


def test_timer_service_issues_and_restarts_the_services(lab: Lab) -> None:
    """The unit the timer starts, hardened as it is: a missing key means a new certificate,
    then each installed service in the reload list restarts; the absent nginx is skipped."""
    probe = "/etc/systemd/system/roost-reload-probe.service"
    lab.ssh(
        f"printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > {probe} && "
        "systemctl daemon-reload && systemctl start roost-reload-probe.service"
    )
    invocation = "systemctl show --property=InvocationID --value roost-reload-probe.service"
    try:
        started = lab.ssh(invocation).stdout.strip()
        lab.ssh("rm /etc/roost/tls/privkey.pem && journalctl --rotate && journalctl --vacuum-time=1s")
        lab.ssh("systemctl start roost-cert-renew.service", timeout=600)
        journal = lab.ssh("journalctl -u roost-cert-renew.service --no-pager -o cat").stdout
        assert "certificate issued (no usable certificate" in journal
        assert "reloaded roost-reload-probe.service" in journal
        assert lab.ssh(invocation).stdout.strip() not in ("", started)
        modes = lab.ssh("stat -c '%a %U %G' /etc/roost/tls/privkey.pem").stdout.strip()
        assert modes == "640 root roost"
    finally:
        lab.ssh(f"systemctl stop roost-reload-probe.service; rm -f {probe}; systemctl daemon-reload")
