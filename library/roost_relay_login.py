#!/usr/bin/python
"""Ansible module: log in to the relay smarthost before mail is switched to it.

Thin by design: the login is ``roost.delivery.relaylogin``, unit-tested there.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_relay_login
short_description: Check a relay smarthost's credentials with a real SMTP AUTH
description:
  - Connects from the target to the relay as Roost will (implicit TLS or required STARTTLS,
    certificate verified), logs in and logs out. Sends no mail and changes nothing, so it
    runs in check mode too.
  - On failure, RV(kind) says which setting is at fault (C(auth), C(tls), C(connect), C(protocol)).
  - Runs on the VPS with the C(roost) package (C(ansible_python_interpreter=/opt/roost/bin/python)).
version_added: "0.1.0"
author: Roost
options:
  host: {description: The relay's host name, type: str, required: true}
  port:
    description: The relay's port (465 implicit TLS; 587 or 2525 STARTTLS).
    type: int
    required: true
  tls: {description: How TLS starts, type: str, required: true, choices: [implicit, starttls]}
  username: {description: The login, type: str, required: true}
  password: {description: The password, type: str, required: true}
  ca_file: {description: Extra CA certificate(s) to trust besides the system's, type: path}
  timeout: {description: Seconds for each network step, type: float, default: 30}
attributes:
  check_mode: {support: full}
  diff_mode: {support: none}
  idempotent: {support: full}
requirements:
  - roost (the server package) in the target's Python
"""

EXAMPLES = r"""
- name: Try the relay credentials
  roost_relay_login:
    host: smtp.relay.example
    port: 587
    tls: starttls
    username: roost
    password: "{{ roost_relay.password }}"
  vars:
    ansible_python_interpreter: /opt/roost/bin/python
  no_log: true
"""

RETURN = r"""
reply:
  description: The relay's answer to AUTH.
  returned: success
  type: str
  sample: "235 2.7.0 Authentication successful"
kind:
  description: What failed (C(auth), C(tls), C(connect), C(protocol)).
  returned: failure
  type: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from roost.delivery.relaylogin import RelayLoginError, check_login
except ImportError:
    ROOST_IMPORT_ERROR = traceback.format_exc()
else:
    ROOST_IMPORT_ERROR = None

ARGUMENT_SPEC = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int", "required": True},
    "tls": {"type": "str", "required": True, "choices": ["implicit", "starttls"]},
    "username": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "ca_file": {"type": "path"},
    "timeout": {"type": "float", "default": 30},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if ROOST_IMPORT_ERROR:
        module.fail_json(
            msg=missing_required_lib("roost (run with /opt/roost/bin/python)"),
            exception=ROOST_IMPORT_ERROR,
        )
    params = module.params
    try:
        reply = check_login(
            params["host"],
            params["port"],
            params["tls"],
            params["username"],
            params["password"],
            ca_file=params["ca_file"],
            timeout=params["timeout"],
        )
    except RelayLoginError as exc:
        module.fail_json(msg=str(exc), kind=exc.kind)
    module.exit_json(changed=False, reply=reply)


if __name__ == "__main__":
    main()
