#!/usr/bin/python
"""Ansible module: what the mta_sts role's nginx serves for one domain.

Thin by design: the policy is ``roost.mtasts.publish``, the client documents
``roost.autoconfig``, both unit-tested there.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_site_documents
short_description: Render the MTA-STS policy, its TXT record and the client discovery documents
description:
  - Renders the policy served at C(https://mta-sts.<domain>/.well-known/mta-sts.txt)
    (RFC 8461 section 3.2), checked with Roost's own policy parser, and its C(_mta-sts) TXT
    value. The C(id) is derived from the policy text, so it changes exactly when the policy
    does (RFC 8461 section 3.1).
  - Renders Thunderbird's C(config-v1.1.xml) and the Outlook POX autodiscover response
    (schema C(outlook/responseschema/2006a)), pointing at IMAP 993 and submission 465 with TLS.
  - Computes only (nothing changes anywhere); run it on the controller
    (delegated to localhost), where the C(roost) package is installed.
version_added: "0.1.0"
author: Roost
options:
  domain: {description: The mail domain, type: str, required: true}
  mail_host: {description: The mail host name (C(roost_hostname)), type: str, required: true}
  mode:
    description: The policy mode.
    type: str
    default: testing
    choices: [enforce, testing, none]
  mx:
    description: The MX host names (or C(*.) patterns) senders may deliver to.
    type: list
    elements: str
    required: true
  max_age:
    description: Seconds senders may cache the policy (at most 31557600).
    type: int
    default: 604800
attributes:
  check_mode: {support: full}
  diff_mode: {support: none}
  idempotent: {support: full}
requirements:
  - roost (the server package) in the controller's Python
"""

EXAMPLES = r"""
- name: Render what nginx serves for example.org
  roost_site_documents:
    domain: example.org
    mail_host: mail.example.org
    mode: testing
    mx: [mail.example.org]
  delegate_to: localhost
  register: documents
"""

RETURN = r"""
policy:
  description: The policy file's content (CRLF line ends).
  returned: success
  type: str
  sample: "version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 604800\r\n"
id:
  description: The policy id.
  returned: success
  type: str
  sample: 3f2a9c0d41b7e6a85c21
record:
  description: The C(_mta-sts) TXT value.
  returned: success
  type: str
  sample: "v=STSv1; id=3f2a9c0d41b7e6a85c21"
thunderbird:
  description: The C(config-v1.1.xml) document.
  returned: success
  type: str
outlook:
  description: The POX autodiscover response.
  returned: success
  type: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from roost.autoconfig import AutoconfigError, outlook, thunderbird
    from roost.mtasts.policy import PolicyError
    from roost.mtasts.publish import render
except ImportError:
    ROOST_IMPORT_ERROR = traceback.format_exc()
else:
    ROOST_IMPORT_ERROR = None

ARGUMENT_SPEC = {
    "domain": {"type": "str", "required": True},
    "mail_host": {"type": "str", "required": True},
    "mode": {"type": "str", "default": "testing", "choices": ["enforce", "testing", "none"]},
    "mx": {"type": "list", "elements": "str", "required": True},
    "max_age": {"type": "int", "default": 604800},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if ROOST_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("roost"), exception=ROOST_IMPORT_ERROR)
    params = module.params
    try:
        policy = render(params["domain"], params["mode"], params["mx"], params["max_age"])
        documents = {
            "thunderbird": thunderbird(params["domain"], params["mail_host"]),
            "outlook": outlook(params["mail_host"]),
        }
    except (PolicyError, AutoconfigError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(
        changed=False, policy=policy.text, id=policy.id, record=policy.record, **documents
    )


if __name__ == "__main__":
    main()
