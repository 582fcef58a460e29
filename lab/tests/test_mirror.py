"""The mirror: a flat apt repository of lab/mirror/packages.txt and a PEP 503
index of lab/mirror/wheels.txt, which the VPS installs from."""

from __future__ import annotations

import gzip
import re
import tomllib
import urllib.request

from conftest import LAB_DIR, Lab


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def entries(name: str) -> list[str]:
    lines = (LAB_DIR / "mirror" / name).read_text().splitlines()
    return [e for e in (line.split("#")[0].strip() for line in lines) if e]


def local_project_names() -> list[str]:
    """Names of the local projects in wheels.txt, from their pyproject.toml."""
    names = []
    for path in (e for e in entries("wheels.txt") if e.startswith(("./", "../"))):
        pyproject = tomllib.loads((LAB_DIR.parent / path / "pyproject.toml").read_text())
        names.append(pyproject["project"]["name"])
    return names


def test_apt_index_holds_every_listed_package(lab: Lab) -> None:
    apt = lab.facts["mirror"]["apt"]
    index = gzip.decompress(get(f"{apt}/Packages.gz")).decode()
    names = {line.split(": ", 1)[1] for line in index.splitlines() if line.startswith("Package: ")}
    assert set(entries("packages.txt")) <= names
    assert b"SHA256:" in get(f"{apt}/Release")


def test_wheel_index_holds_every_listed_project(lab: Lab) -> None:
    index = get(lab.facts["mirror"]["simple"]).decode()
    served = set(re.findall(r'href="([^"/]+)/"', index))
    wanted = [re.split(r"[<>=!~\[; ]", e)[0] for e in entries("wheels.txt") if not e.startswith(".")]
    for name in [*wanted, *local_project_names()]:
        assert re.sub(r"[-_.]+", "-", name).lower() in served


def test_vps_pip_installs_local_projects_from_the_mirror(lab: Lab) -> None:
    projects = local_project_names()
    assert projects, "wheels.txt lists no local project (./server)"
    lab.ssh(
        "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv", timeout=300
    )
    lab.ssh("python3 -m venv /tmp/mirror-test", timeout=120)
    lab.ssh(f"/tmp/mirror-test/bin/pip install -q {' '.join(projects)}", timeout=300)
    listed = lab.ssh("/tmp/mirror-test/bin/pip list --format=freeze").stdout.lower()
    assert all(f"{p.lower()}==" in listed for p in projects)
    lab.ssh("rm -rf /tmp/mirror-test")
