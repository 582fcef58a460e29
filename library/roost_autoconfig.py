#!/usr/bin/python
"""Ansible module: the mail client discovery documents of one domain.

Thin by design: the documents are ``roost.autoconfig``, unit-tested there.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_autoconfig
short_description: Render Thunderbird autoconfig and Outlook autodiscover documents
description:
  - Renders C(config-v1.1.xml) (Thunderbird autoconfig) and the Outlook POX autodiscover
    response (schema C(outlook/responseschema/2006a)), both pointing at IMAP 993 and
    submission 465 with TLS on the mail host.
  - Computes only; run it on the controller (C(delegate_to: localhost)).
version_added: "0.1.0"
author: Roost
options:
  domain: {description: The mail domain, type: str, required: true}
  mail_host: {description: The mail host name (C(roost_hostname)), type: str, required: true}
attributes:
  check_mode: {support: full}
  diff_mode: {support: none}
  idempotent: {support: full}
requirements:
  - roost (the server package) in the controller's Python
"""

EXAMPLES = r"""
- name: Render the client discovery documents of example.org
  roost_autoconfig:
    domain: example.org
    mail_host: mail.example.org
  delegate_to: localhost
  register: autoconfig
"""

RETURN = r"""
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
except ImportError:
    ROOST_IMPORT_ERROR = traceback.format_exc()
else:
    ROOST_IMPORT_ERROR = None

ARGUMENT_SPEC = {
    "domain": {"type": "str", "required": True},
    "mail_host": {"type": "str", "required": True},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if ROOST_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("roost"), exception=ROOST_IMPORT_ERROR)
    params = module.params
    try:
        documents = {
            "thunderbird": thunderbird(params["domain"], params["mail_host"]),
            "outlook": outlook(params["mail_host"]),
        }
    except AutoconfigError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **documents)


if __name__ == "__main__":
    main()
