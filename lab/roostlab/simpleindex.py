"""Write a PEP 503 "simple" index for a directory of wheels and sdists.

pip on the VPS reads it over plain HTTP from the lab mirror; the links are
relative (../../wheels/FILE) so the tree can be served from anywhere.

Usage: python -m roostlab.simpleindex WHEELDIR OUTDIR
"""

from __future__ import annotations

import hashlib
import html
import re
import sys
from collections import defaultdict
from pathlib import Path


def normalize(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return normalize(filename.split("-")[0])
    stem = re.sub(r"\.(tar\.gz|zip)$", "", filename)
    return normalize(stem.rsplit("-", 1)[0])


def write_index(wheels: Path, out: Path) -> None:
    projects: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(wheels.iterdir()) if wheels.exists() else []:
        if path.suffix in (".whl", ".gz", ".zip"):
            projects[project_of(path.name)].append(path)
    out.mkdir(parents=True, exist_ok=True)
    links = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(projects))
    (out / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")
    for project, files in projects.items():
        (out / project).mkdir(exist_ok=True)
        rows = "".join(
            f'<a href="../../wheels/{html.escape(f.name)}#sha256='
            f'{hashlib.sha256(f.read_bytes()).hexdigest()}">{html.escape(f.name)}</a>\n'
            for f in files
        )
        (out / project / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{rows}</body></html>\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    write_index(Path(sys.argv[1]), Path(sys.argv[2]))
