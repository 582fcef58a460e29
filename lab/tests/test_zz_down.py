"""Last: lab-down removes everything lab-up made. (ROOST_LAB_KEEP=1 leaves this out.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import LAB_DIR, Lab


def running(pid: int, starttime: str) -> bool:
    """Still our process: same start time, and not a zombie awaiting its reaper."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z" and fields[19] == starttime


def test_lab_down_leaves_nothing_behind(lab: Lab) -> None:
    lab_id = lab.facts["id"]
    tracked = [p.read_text().split() for p in (lab.state / "pids").glob("*.pid")]
    assert len(tracked) >= 7, "expected dns, dnspod, acme, mirror and three containers to be tracked"

    subprocess.run([str(LAB_DIR / "bin" / "lab-down")], check=True)

    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert not [line for line in netns.splitlines() if line.startswith(f"{lab_id}-")]
    # Under lab/run our mount namespace is a slave of the host's: the host's
    # unmounts show here too, so our own table tells whether any is left.
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(lab.state) not in mounts and f"overlay-{lab_id}-" not in mounts
    alive = [pid for pid, start in tracked if running(int(pid), start)]
    assert not alive, f"processes still running: {alive}"
    assert not lab.state.exists()
    assert not list(Path("/etc/netns").glob(f"{lab_id}-*"))
    assert not list(Path("/sys/fs/cgroup").glob(f"*/**/roost-lab-{lab_id}-*"))
