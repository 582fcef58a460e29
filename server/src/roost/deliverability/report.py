"""Findings and how they are shown: a table for people, JSON for monitoring."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    """One check's verdict on one subject (a domain, or the host itself)."""

    subject: str
    check: str
    status: Status
    detail: str
    #: What the user does about a failure (or a warning), in words they act on.
    fix: str = ""


def passed(subject: str, check: str, detail: str) -> Finding:
    return Finding(subject, check, "pass", detail)


def warned(subject: str, check: str, detail: str, fix: str = "") -> Finding:
    return Finding(subject, check, "warn", detail, fix)


def failed(subject: str, check: str, detail: str, fix: str) -> Finding:
    return Finding(subject, check, "fail", detail, fix)


def ok(findings: Sequence[Finding]) -> bool:
    """Whether nothing failed (warnings do not fail the run)."""
    return all(f.status != "fail" for f in findings)


def as_json(findings: Sequence[Finding]) -> str:
    counts = {s: sum(1 for f in findings if f.status == s) for s in ("pass", "warn", "fail")}
    return json.dumps(
        {"ok": ok(findings), "counts": counts, "results": [asdict(f) for f in findings]},
        indent=2,
    )


def as_table(findings: Sequence[Finding], width: int = 100) -> str:
    """Columns subject, check, status, detail; each fix indented on the lines below."""
    subject_w = max([len("subject"), *(len(f.subject) for f in findings)])
    check_w = max([len("check"), *(len(f.check) for f in findings)])
    lead = subject_w + check_w + 6 + 3 * 2
    detail_w = max(width - lead, 30)
    lines = [f"{'subject':<{subject_w}}  {'check':<{check_w}}  {'status':<6}  detail"]
    lines.append("-" * min(width, lead + detail_w))
    for f in findings:
        detail = textwrap.wrap(f.detail, detail_w) or [""]
        lines.append(
            f"{f.subject:<{subject_w}}  {f.check:<{check_w}}  {f.status.upper():<6}  " + detail[0]
        )
        lines += [" " * lead + rest for rest in detail[1:]]
        if f.fix:
            for rest in textwrap.wrap("fix: " + f.fix, detail_w):
                lines.append(" " * lead + rest)
    counts = ", ".join(
        f"{sum(1 for f in findings if f.status == s)} {s}" for s in ("pass", "warn", "fail")
    )
    lines.append(f"\n{counts}: " + ("all good" if ok(findings) else "fix the failures above"))
    return "\n".join(lines)
