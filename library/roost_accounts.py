#!/usr/bin/python
"""Ansible module: Roost's hosted domains, users and aliases, declaratively."""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_accounts
short_description: Make Roost host the listed domains, users and aliases
description:
  - Adds missing domains, users and aliases and corrects alias targets; never removes
    anything the lists omit (a user taken out of the inventory keeps their mail).
  - A domain in O(absent) goes with its users and aliases, but is refused, naming the
    mailboxes, while mail is stored for it, unless its C(mail) says C(keep) (the mailboxes
    holding mail stay) or C(delete) (they go with their mail).
  - A password is set again only when the stored Argon2id hash no longer verifies it, so a
    re-run reports no change.
  - Runs C(roost accounts sync) on the server (logic in C(roost.accounts)); it works as the
    service user, so the store's files stay the server's.
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
    description: Domains to host.
    type: list
    elements: str
    default: []
  users:
    description: Account addresses.
    type: list
    elements: str
    default: []
  passwords:
    description: Each account's password, by address (kept out of every output; a separate
      option so the addresses themselves stay readable).
    type: dict
    default: {}
  aliases:
    description: Aliases, each C({address, to}) with C(to) a list of addresses.
    type: list
    elements: dict
    default: []
  absent:
    description: Domains to stop hosting, each C({name, mail?}), C(mail) one of C(keep) and
      C(delete) (checked by C(roost accounts sync); other keys of a C(roost_domains) entry
      are ignored).
    type: list
    elements: dict
    default: []
  postmaster:
    description: Where C(postmaster@) and C(abuse@) of every domain go (RFC 2142), unless
      those addresses are listed as users or aliases.
    type: str
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author: Roost
"""

EXAMPLES = r"""
- name: Create the domains, users and aliases
  roost_accounts:
    domains: [example.org]
    users: [me@example.org]
    passwords:
      me@example.org: "{{ vault_me_password }}"
    postmaster: me@example.org
  no_log: true
"""

RETURN = r"""
domains_added: {description: Domains newly hosted., type: list, returned: always}
users_added: {description: Accounts created., type: list, returned: always}
passwords_set: {description: Accounts whose password was set again., type: list, returned: always}
aliases_added: {description: Aliases created., type: list, returned: always}
aliases_changed: {description: Aliases whose targets were replaced., type: list, returned: always}
domains_removed: {description: Domains no longer hosted., type: list, returned: always}
users_removed: {description: Accounts removed with an absent domain., type: list, returned: always}
aliases_removed: {description: Aliases removed with an absent domain., type: list, returned: always}
users_kept: {description: Accounts of an absent domain kept with their mail., type: list, returned: always}
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.roost_server import COMMON_OPTIONS, run_roost

ARGUMENT_SPEC = {
    **COMMON_OPTIONS,
    "domains": {"type": "list", "elements": "str", "default": []},
    "users": {"type": "list", "elements": "str", "default": []},
    "passwords": {"type": "dict", "default": {}, "no_log": True},
    "aliases": {"type": "list", "elements": "dict", "default": []},
    "postmaster": {"type": "str"},
    "absent": {"type": "list", "elements": "dict", "default": []},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    passwords = module.params["passwords"]
    missing = [u for u in module.params["users"] if not passwords.get(u)]
    if missing:
        module.fail_json(msg=f"roost_accounts: no password for {', '.join(missing)} in passwords")
    document = {k: module.params[k] for k in ("domains", "aliases", "postmaster", "absent")}
    document["users"] = [{"address": u, "password": passwords[u]} for u in module.params["users"]]
    result = run_roost(
        module,
        ["accounts", "sync"],
        "create the domains, users and aliases listed",
        data=json.dumps(document),
    )
    before, after = result.pop("before"), result.pop("after")
    for address in result.get("users_kept", []):
        module.warn(
            f"{address} is kept with its mail although its domain is marked absent "
            f"(mail: keep); `roost user del {address}` on the server removes it"
        )
    module.exit_json(
        diff={"before": "\n".join(before) + "\n", "after": "\n".join(after) + "\n"}, **result
    )


if __name__ == "__main__":
    main()
