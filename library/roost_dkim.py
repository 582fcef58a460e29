#!/usr/bin/python
"""Ansible module: DKIM keys made and rotated on the Roost server; only public halves come back."""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_dkim
short_description: Make, rotate and retire DKIM keys on the server; return the TXT records
description:
  - Two phases around the DNS update (logic in C(roost.dkim.rotation), run through
    C(roost dkim ensure) and C(roost dkim activate) as the service user).
  - C(phase=ensure) creates, on the server, a pending key of each algorithm (RSA-2048 and
    Ed25519) a domain lacks or whose signing key is older than O(rotate_days) (or every one
    with O(rotate)); selectors carry the algorithm and the date (C(r20261130)). Retiring
    selectors older than O(retire_days) are removed. Returns every selector to publish and
    the removed ones, whose records the dns role deletes.
  - C(phase=activate), once every authoritative server serves the pending records, makes the
    pending keys sign from now on; the keys they replace start retiring.
  - Private keys never leave the server (0600, owned by roost). Nothing due, nothing changed.
  - In check mode nothing is created; keys still to be made are returned with a placeholder.
options:
  config:
    description: Roost's configuration file.
    type: path
    default: /etc/roost/roost.toml
  roost:
    description: The C(roost) command.
    type: path
    default: /opt/roost/bin/roost
  domains:
    description: Domains that sign outgoing mail.
    type: list
    elements: str
    required: true
  absent_domains:
    description: Domains no longer hosted (phase ensure); every key of theirs is removed and
      its selector returned in RV(retired), so the dns role deletes the record.
    type: list
    elements: str
    default: []
  phase:
    description: C(ensure) before the DNS update, C(activate) after it.
    type: str
    choices: [ensure, activate]
    default: ensure
  rotate_days:
    description: Rotate a signing key this many days after it was made.
    type: int
    default: 180
  retire_days:
    description: Keep a replaced key's record published this many days.
    type: int
    default: 7
  rotate:
    description: Rotate every domain's keys now, whatever their age.
    type: bool
    default: false
  now:
    description: The time to act at (ISO 8601), for tests that move the clock; default now.
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author: Roost
"""

EXAMPLES = r"""
- name: Make the DKIM keys that are missing or due
  roost_dkim:
    domains: [example.org]
    rotate_days: 180
  register: dkim

- name: Sign with the new keys (once DNS serves them)
  roost_dkim:
    domains: [example.org]
    phase: activate
"""

RETURN = r"""
records:
  description: Domain to the list of C({selector, value, phase}) TXT records to publish at
    C(<selector>._domainkey.<domain>) (phase ensure).
  type: dict
  returned: always
  sample: {"example.org": [{"selector": "r20261130", "value": "v=DKIM1; k=rsa; p=MIIB...",
           "phase": "pending"}]}
retired:
  description: Domain to the removed selectors, whose records must be deleted (phase ensure).
  type: dict
  returned: always
pending:
  description: Whether any selector waits for activation (phase ensure).
  type: bool
  returned: always
created:
  description: Domain to the selectors created by this run.
  type: dict
  returned: always
activated:
  description: Domain to the selectors that now sign (phase activate).
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.roost_server import COMMON_OPTIONS, run_roost

#: What roost.dkim.rotation.PENDING_VALUE says, for when the roost package is not installed.
PENDING_VALUE = "v=DKIM1; p=(made on the server when the play runs for real)"


ARGUMENT_SPEC = {
    **COMMON_OPTIONS,
    "domains": {"type": "list", "elements": "str", "required": True},
    "absent_domains": {"type": "list", "elements": "str", "default": []},
    "phase": {"type": "str", "choices": ["ensure", "activate"], "default": "ensure"},
    "rotate_days": {"type": "int", "default": 180},
    "retire_days": {"type": "int", "default": 7},
    "rotate": {"type": "bool", "default": False},
    "now": {"type": "str"},
}


def _lines(kind, found):
    return "".join(f"DKIM key {d} {s} {kind}\n" for d, sels in found.items() for s in sels)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    domains = p["domains"]
    args = ["--rotate-days", str(p["rotate_days"]), "--retire-days", str(p["retire_days"])]
    if p["now"]:
        args += ["--now", p["now"]]
    empty = {"records": {}, "retired": {}, "pending": False, "created": {}, "activated": {}}
    if p["phase"] == "activate":
        found = run_roost(
            module,
            ["dkim", "activate", *args, *domains],
            "sign with the new DKIM keys",
            planned=empty,
        )
        activated = {d: sels for d, sels in found.items() if sels}
        module.exit_json(
            changed=bool(activated),
            **{**empty, "activated": activated},
            diff={"before": _lines("pending", activated), "after": _lines("active", activated)},
        )
    # Before Roost is installed (check mode on a fresh VPS) the keys' public halves are unknown;
    # the dns role still shows the records it would publish.
    planned = [
        {"selector": s, "value": PENDING_VALUE, "phase": "pending"} for s in ("r-new", "e-new")
    ]
    absent = [f"--absent={d}" for d in p["absent_domains"]]
    found = run_roost(
        module,
        ["dkim", "ensure", *args, *(["--force"] if p["rotate"] else []), *domains, *absent],
        "create an RSA-2048 and an Ed25519 DKIM key per domain",
        planned={**empty, "records": {d: planned for d in domains}, "pending": True},
    )
    for keys in found.values():
        for problem in keys["problems"]:
            module.warn(problem)
    created = {d: keys["created"] for d, keys in found.items() if keys["created"]}
    removed = {d: keys["removed"] for d, keys in found.items() if keys["removed"]}
    module.exit_json(
        changed=any(
            keys["created"] or keys["removed"] or keys["problems"] for keys in found.values()
        ),
        created=created,
        activated={},
        records={d: keys["records"] for d, keys in found.items()},
        retired={d: keys["retired"] for d, keys in found.items()},
        pending=any(r["phase"] == "pending" for keys in found.values() for r in keys["records"]),
        diff={
            "before": _lines("retiring", removed),
            "after": _lines("pending", created) + _lines("removed", removed),
        },
    )


if __name__ == "__main__":
    main()
