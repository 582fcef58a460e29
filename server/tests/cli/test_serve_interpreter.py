"""`roost serve` from an interpreter the service user cannot run (a venv made from a Python
under a private home): one line naming the cause and the fix, before any port is served,
instead of a crash in a check worker after the privilege drop."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from tests.roostproc import roost_dev


@pytest.mark.skipif(os.geteuid() != 0, reason="the privilege drop happens only as root")
def test_an_interpreter_the_service_user_cannot_run_is_named() -> None:
    with tempfile.TemporaryDirectory(prefix="roost-private-") as private, roost_dev() as roost:
        os.chmod(private, 0o700)  # like /root: the service user cannot enter it
        venv = Path(private) / "venv"
        subprocess.run(
            [sys.executable, "-m", "venv", "--copies", "--without-pip", venv], check=True
        )
        site = Path(sysconfig.get_paths(vars={"base": str(venv)})["purelib"])
        ours = sysconfig.get_paths()["purelib"]
        (site / "roost-test.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
        result = subprocess.run(
            [venv / "bin" / "python", "-m", "roost", "-c", roost.config, "serve"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    (line,) = [x for x in result.stderr.splitlines() if "cannot read" in x]
    assert f"{venv}/bin/python" in line and "/opt/roost" in line
    assert "Traceback" not in result.stderr
