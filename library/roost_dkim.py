#!/usr/bin/python
"""Ansible module: DKIM keys made on the Roost server; only their public halves come back."""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_dkim
short_description: Make sure each domain has its DKIM keys and return the TXT records
description:
  - Creates, on the server, a signing key of each algorithm (RSA-2048 and Ed25519) a domain
    lacks; existing keys are kept. Private keys never leave the server (0600, owned by roost).
  - Returns, per domain, every published selector and its TXT value, for the dns role.
  - In check mode nothing is created; selectors still to be made are returned with a
    placeholder value.
  - Runs C(roost dkim ensure) on the server (logic in C(roost.dkim.provision)), as the service
    user.
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
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author: Roost
"""

EXAMPLES = r"""
- name: Make the DKIM keys
  roost_dkim:
    domains: [example.org]
  register: dkim
"""

RETURN = r"""
records:
  description: Domain to the list of C({selector, value}) TXT records to publish at
    C(<selector>._domainkey.<domain>).
  type: dict
  returned: always
  sample: {"example.org": [{"selector": "r202611", "value": "v=DKIM1; k=rsa; p=MIIB..."}]}
created:
  description: Domain to the selectors created by this run.
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.roost_server import COMMON_OPTIONS, run_roost

#: What roost.dkim.provision.PENDING_VALUE says, for when the roost package is not installed.
PENDING_VALUE = "v=DKIM1; p=(made on the server when the play runs for real)"


def main():
    module = AnsibleModule(
        argument_spec={
            **COMMON_OPTIONS,
            "domains": {"type": "list", "elements": "str", "required": True},
        },
        supports_check_mode=True,
    )
    domains = module.params["domains"]
    # Before Roost is installed (check mode on a fresh VPS) the keys' public halves are unknown;
    # the dns role still shows the records it would publish.
    pending = [{"selector": s, "value": PENDING_VALUE} for s in ("r-new", "e-new")]
    found = run_roost(
        module,
        ["dkim", "ensure", *domains],
        "create an RSA-2048 and an Ed25519 DKIM key per domain",
        planned={"records": {d: pending for d in domains}},
    )
    created = {d: keys["created"] for d, keys in found.items() if keys["created"]}
    module.exit_json(
        changed=bool(created),
        created=created,
        records={d: keys["records"] for d, keys in found.items()},
        diff={
            "before": "",
            "after": "".join(f"DKIM key {d} {s}\n" for d, sels in created.items() for s in sels),
        },
    )


if __name__ == "__main__":
    main()
