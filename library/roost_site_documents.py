#!/usr/bin/python
"""Ansible module: what the mta_sts role's nginx serves, rendered and written for every domain.

Thin by design: the policy is ``roost.mtasts.publish``, the client documents
``roost.autoconfig``, the files under the web root ``roost.webroot``, all unit-tested there.
One run covers every domain: the role used to spend a render, two directories and two
copies (each two module runs) per domain, most of its re-run.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_site_documents
short_description: Render and serve the MTA-STS policies, their TXT records and the client discovery documents
description:
  - Renders, for each domain, the policy served at
    C(https://mta-sts.<domain>/.well-known/mta-sts.txt) (RFC 8461 section 3.2), checked with
    Roost's own policy parser, and its C(_mta-sts) TXT value. The C(id) is derived from the
    policy text, so it changes exactly when the policy does (RFC 8461 section 3.1).
  - Renders Thunderbird's C(config-v1.1.xml) per domain and the Outlook POX autodiscover
    response (schema C(outlook/responseschema/2006a)), pointing at IMAP 993 and submission
    465 with TLS.
  - With O(root), writes C(<root>/<domain>/.well-known/mta-sts.txt) and
    C(<root>/<domain>/mail/config-v1.1.xml) (files 0644, directories 0755, owned by the user
    the module runs as) and removes C(<root>/<domain>) of each domain in O(absent). Only what
    differs is written; check mode and diff show it. Run it on the VPS with Roost's Python.
  - Without O(root) it only renders (nothing changes anywhere), for instance on the controller
    (delegated to localhost) in check mode before Roost is installed on the VPS.
version_added: "0.1.0"
author: Roost
options:
  domains:
    description: The domains served, each with its policy mode.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: The mail domain (lowercase), type: str, required: true}
      mode:
        description: The policy mode.
        type: str
        default: testing
        choices: [enforce, testing, none]
  mail_host: {description: The mail host name (C(roost_hostname)), type: str, required: true}
  mx:
    description: The MX host names (or C(*.) patterns) senders may deliver to.
    type: list
    elements: str
    required: true
  max_age:
    description: Seconds senders may cache the policy (at most 31557600).
    type: int
    default: 604800
  root:
    description: The web root holding one directory per domain; omitted, nothing is written.
    type: path
  absent:
    description: Domains whose directory under O(root) is removed (they are no longer served).
    type: list
    elements: str
    default: []
attributes:
  check_mode: {support: full}
  diff_mode: {support: full}
  idempotent: {support: full}
requirements:
  - roost (the server package) in the Python that runs the module
"""

EXAMPLES = r"""
- name: Serve the MTA-STS policy and autoconfig of example.org and example.net
  roost_site_documents:
    domains:
      - {name: example.org, mode: testing}
      - {name: example.net, mode: enforce}
    mail_host: mail.example.org
    mx: [mail.example.org]
    root: /var/www/roost
  vars:
    ansible_python_interpreter: /opt/roost/bin/python
  register: site
"""

RETURN = r"""
domains:
  description: Per domain, in the order given, what is served.
  returned: success
  type: list
  elements: dict
  contains:
    name: {description: The domain., type: str}
    policy:
      description: The policy file's content (CRLF line ends).
      type: str
      sample: "version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 604800\r\n"
    id: {description: The policy id., type: str, sample: 3f2a9c0d41b7e6a85c21}
    record:
      description: The C(_mta-sts) TXT value.
      type: str
      sample: "v=STSv1; id=3f2a9c0d41b7e6a85c21"
    thunderbird: {description: The C(config-v1.1.xml) document., type: str}
outlook:
  description: The POX autodiscover response (the same for every domain).
  returned: success
  type: str
changes:
  description: What was (or in check mode would be) done under O(root).
  returned: success
  type: list
  elements: dict
  sample: [{action: write, path: /var/www/roost/example.org/.well-known/mta-sts.txt}]
"""

import traceback
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from roost.autoconfig import AutoconfigError, outlook, thunderbird
    from roost.mtasts.policy import PolicyError
    from roost.mtasts.publish import render
    from roost.webroot import WebRootError, apply, plan, site_files
except ImportError:
    ROOST_IMPORT_ERROR = traceback.format_exc()
else:
    ROOST_IMPORT_ERROR = None

ARGUMENT_SPEC = {
    "domains": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "mode": {
                "type": "str",
                "default": "testing",
                "choices": ["enforce", "testing", "none"],
            },
        },
    },
    "mail_host": {"type": "str", "required": True},
    "mx": {"type": "list", "elements": "str", "required": True},
    "max_age": {"type": "int", "default": 604800},
    "root": {"type": "path"},
    "absent": {"type": "list", "elements": "str", "default": []},
}


def _documents(params):
    documents = []
    for domain in params["domains"]:
        policy = render(domain["name"], domain["mode"], params["mx"], params["max_age"])
        documents.append(
            {
                "name": domain["name"],
                "policy": policy.text,
                "id": policy.id,
                "record": policy.record,
                "thunderbird": thunderbird(domain["name"], params["mail_host"]),
            }
        )
    return documents


def _diff(change):
    """A written file shows its old and new text; a removed site, its directory going."""
    before = f"{change.path}/\n" if change.action == "remove" else change.before or ""
    return {
        "before_header": str(change.path),
        "after_header": str(change.path),
        "before": before,
        "after": change.after or "",
    }


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if ROOST_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("roost"), exception=ROOST_IMPORT_ERROR)
    params = module.params
    changes = []
    try:
        documents = _documents(params)
        outlook_document = outlook(params["mail_host"])
        if params["root"]:
            root = Path(params["root"])
            files = {}
            for document in documents:
                files.update(
                    site_files(root, document["name"], document["policy"], document["thunderbird"])
                )
            changes = plan(root, files, params["absent"])
            if not module.check_mode:
                apply(changes)
    except (PolicyError, AutoconfigError, WebRootError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"writing under {params['root']}: {exc}")
    result = {
        "changed": bool(changes),
        "domains": documents,
        "outlook": outlook_document,
        "changes": [{"action": c.action, "path": str(c.path)} for c in changes],
    }
    if module._diff:
        result["diff"] = [_diff(c) for c in changes if c.action in ("write", "remove")]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
