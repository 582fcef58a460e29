#!/usr/bin/python
"""Ansible module: can the VPS deliver mail directly, or must it use the relay?

Thin by design: the probe and the choice are ``roost.delivery.probe``, unit-tested there.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_port25_probe
short_description: Probe outbound TCP port 25 and choose direct delivery or the smarthost
description:
  - Connects from the target to real MX hosts on port 25 and waits for an SMTP greeting.
    A greeting means the port is open; a timeout, a refused or reset connection, or silence
    after connecting means it is blocked.
  - Chooses the outbound mode from O(relay_mode) and the result. Fails with a message that
    explains the choices when the port is blocked and no relay is configured.
  - Runs on the VPS with the C(roost) package (C(ansible_python_interpreter=/opt/roost/bin/python)).
    It changes nothing, so it runs in check mode too.
version_added: "0.1.0"
author: Roost
options:
  hosts:
    description: MX hosts to probe, in order, until one greets.
    type: list
    elements: str
    required: true
  port:
    description: The port (25 everywhere but in tests).
    type: int
    default: 25
  timeout:
    description: Seconds to wait for each connection and its greeting.
    type: float
    default: 10
  relay_mode:
    description: C(auto) follows the probe; C(always) forces the relay, C(never) direct delivery.
    type: str
    default: auto
    choices: [auto, always, never]
  relay_configured:
    description: Whether a relay (C(roost_relay)) is configured.
    type: bool
    default: false
attributes:
  check_mode: {support: full}
  diff_mode: {support: none}
  idempotent: {support: full}
requirements:
  - roost (the server package) in the target's Python
"""

EXAMPLES = r"""
- name: Probe outbound port 25
  roost_port25_probe:
    hosts: [gmail-smtp-in.l.google.com, mx1.mail.ovh.net]
    relay_mode: auto
    relay_configured: "{{ roost_relay is defined }}"
  vars:
    ansible_python_interpreter: /opt/roost/bin/python
  register: probe
"""

RETURN = r"""
outbound:
  description: The outbound mode to configure.
  returned: success
  type: str
  sample: smarthost
port_open:
  description: True if an MX greeted, false if none did, null if no host resolved.
  returned: always
  type: bool
results:
  description: Every attempt, with the greeting or the reason it counts as blocked.
  returned: always
  type: list
  elements: dict
  sample:
    - host: mx.peer.test
      address: 203.0.113.25
      state: blocked
      detail: connected, but no SMTP greeting within 10 s
"""

import dataclasses
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from roost.delivery.probe import OutboundChoiceError, choose, port_open, probe
except ImportError:
    ROOST_IMPORT_ERROR = traceback.format_exc()
else:
    ROOST_IMPORT_ERROR = None

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "port": {"type": "int", "default": 25},
    "timeout": {"type": "float", "default": 10},
    "relay_mode": {"type": "str", "default": "auto", "choices": ["auto", "always", "never"]},
    "relay_configured": {"type": "bool", "default": False},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if ROOST_IMPORT_ERROR:
        module.fail_json(
            msg=missing_required_lib("roost (run with /opt/roost/bin/python)"),
            exception=ROOST_IMPORT_ERROR,
        )
    params = module.params
    results = []
    if params["relay_mode"] != "always":  # a forced relay needs no probe
        results = probe(params["hosts"], port=params["port"], timeout=params["timeout"])
    facts = {
        "port_open": port_open(results) if results else None,
        "results": [dataclasses.asdict(result) for result in results],
    }
    if params["relay_mode"] == "never" and facts["port_open"] is False:
        module.warn(
            "outbound port 25 looks blocked but roost_relay_mode is never: remote mail will "
            "wait in the queue until the provider unblocks it"
        )
    try:
        outbound = choose(params["relay_mode"], results, params["relay_configured"])
    except OutboundChoiceError as exc:
        module.fail_json(msg=str(exc), **facts)
    module.exit_json(changed=False, outbound=outbound, **facts)


if __name__ == "__main__":
    main()
