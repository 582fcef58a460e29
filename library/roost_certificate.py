#!/usr/bin/python
"""Ansible module: Roost's TLS certificate through ACME DNS-01, on the VPS.

Thin by design: deciding, ordering, validating and installing are ``roost.acme`` (unit- and
lab-tested there), the same code ``roost cert renew`` runs from the VPS's timer.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_certificate
short_description: Issue or renew the certificate of the mail host and each domain's web names
description:
  - One certificate for the mail host and C(mta-sts), C(autoconfig) and C(autodiscover) of
    every domain, at O(tls_dir)/fullchain.pem and privkey.pem (0640 root:O(tls_group)).
  - Orders only when due, deciding without the CA where it can; the names changed, no
    usable certificate, the CA's renewal window (ARI) opened, or else one third of the
    lifetime left. A recent failure with the same settings backs off instead of retrying.
  - DNS-01 TXT records are published through the DNS provider, awaited on every
    authoritative server before the CA is asked, and removed afterwards even when validation
    fails.
  - Runs on the VPS with the Roost venv's interpreter
    (C(ansible_python_interpreter=/opt/roost/bin/python)). It does not reload services;
    notify handlers when it reports a change.
version_added: "0.1.0"
author: Roost
options:
  directory:
    description: ACME directory URL (C(roost_acme_directory)).
    type: str
    required: true
  email:
    description: Contact address for the ACME account (C(roost_acme_email)).
    type: str
  eab:
    description: External Account Binding (C(roost_acme_eab)); ZeroSSL requires it.
    type: dict
    suboptions:
      kid: {description: The key identifier from the CA, type: str, required: true}
      hmac_key: {description: The base64url MAC key from the CA, type: str, required: true}
  ca_file:
    description: CA bundle on the VPS to trust for the ACME API (C(roost_acme_ca_file)).
    type: path
  dns_provider:
    description: The DNS provider (C(roost_dns_provider)).
    type: str
    required: true
    choices: [rfc2136, tencentcloud]
  dns_credentials:
    description:
      - The provider's settings (C(roost_dns_credentials)); paths in it are on the VPS.
      - Every value but the numbers (C(port), C(timeout)) is masked in Ansible's output (C(no_log)),
        addresses and key names too.
    type: dict
    required: true
  hostname:
    description: The mail host (C(roost_hostname)); first name on the certificate.
    type: str
    required: true
  domains:
    description: Domain names; each adds C(mta-sts), C(autoconfig) and C(autodiscover).
    type: list
    elements: str
    required: true
  tls_dir:
    description: Where fullchain.pem and privkey.pem are written.
    type: path
    default: /etc/roost/tls
  tls_group:
    description: Group that may read the key (the Roost service's).
    type: str
    default: roost
  account_key:
    description: The ACME account key, made once (0600) and reused.
    type: path
    default: /etc/roost/acme/account.key
  state_file:
    description: Back-off and renewal-window memory between runs.
    type: path
    default: /etc/roost/acme/state.json
  propagation_timeout:
    description: Seconds to wait until every authoritative server serves the challenge TXT.
    type: int
    default: 600
  validation_timeout:
    description: Seconds the CA may take to validate and issue.
    type: int
    default: 180
  force:
    description: Order a new certificate even if none is due (and despite a back-off).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reports whether it would issue or renew; the CA is not contacted.
  diff_mode: {support: full}
  idempotent: {support: full}
requirements:
  - roost (with acme and the DNS provider's library) in the interpreter that runs it
"""

EXAMPLES = r"""
- name: Issue or renew the certificate
  roost_certificate:
    directory: "{{ roost_acme_directory }}"
    email: "{{ roost_acme_email }}"
    dns_provider: "{{ roost_dns_provider }}"
    dns_credentials: "{{ roost_dns_credentials }}"
    hostname: mail.example.org
    domains: [example.org, example.net]
  vars:
    ansible_python_interpreter: /opt/roost/bin/python
  notify: [Restart roost, Reload nginx]
"""

RETURN = r"""
action:
  description: C(issue) or C(renew) (done, or due in check mode), C(keep), or C(backoff).
  returned: always
  type: str
  sample: keep
reason:
  description: Why, in words (the expiry and renewal date, the names that changed, ...).
  returned: always
  type: str
  sample: "valid until 2027-03-01 10:00 UTC; renewal due from 2027-01-30 10:00 UTC"
names:
  description: The names the certificate carries (or will).
  returned: always
  type: list
  elements: str
  sample: [mail.example.org, mta-sts.example.org, autoconfig.example.org]
not_after:
  description: Expiry of the installed certificate (ISO 8601, UTC), if there is one.
  returned: always
  type: str
  sample: "2027-03-01T10:00:00+00:00"
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from roost.acme import renew, settings
    from roost.acme.errors import CertificateError
    from roost.dnsprovider import public_option_values
except ImportError:
    ROOST_IMPORT_ERROR = traceback.format_exc()
else:
    ROOST_IMPORT_ERROR = None

ARGUMENT_SPEC = {
    "directory": {"type": "str", "required": True},
    "email": {"type": "str"},
    "eab": {
        "type": "dict",
        "options": {
            "kid": {"type": "str", "required": True},
            "hmac_key": {"type": "str", "required": True, "no_log": True},
        },
    },
    "ca_file": {"type": "path"},
    "dns_provider": {
        "type": "str",
        "required": True,
        "choices": ["rfc2136", "tencentcloud"],
    },
    "dns_credentials": {"type": "dict", "required": True, "no_log": True},
    "hostname": {"type": "str", "required": True},
    "domains": {"type": "list", "elements": "str", "required": True},
    "tls_dir": {"type": "path", "default": "/etc/roost/tls"},
    "tls_group": {"type": "str", "default": "roost"},
    "account_key": {
        "type": "path",
        "default": "/etc/roost/acme/account.key",
        "no_log": False,
    },
    "state_file": {"type": "path", "default": "/etc/roost/acme/state.json"},
    "propagation_timeout": {"type": "int", "default": 600},
    "validation_timeout": {"type": "int", "default": 180},
    "force": {"type": "bool", "default": False},
}


def _settings_mapping(params):
    """The module's arguments in the shape of /etc/roost/acme.json (one parser for both)."""
    mapping = {
        k: v for k, v in params.items() if k not in ("dns_provider", "dns_credentials", "force")
    }
    mapping["dns"] = {
        "provider": params["dns_provider"],
        "credentials": params["dns_credentials"],
    }
    mapping["reload"] = []
    return mapping


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if ROOST_IMPORT_ERROR:
        module.fail_json(
            msg=missing_required_lib("roost", reason="run it with the Roost venv's interpreter"),
            exception=ROOST_IMPORT_ERROR,
        )
    # no_log masks every credentials value; the numbers (the port) are no secret.
    module.no_log_values.difference_update(public_option_values(module.params["dns_credentials"]))
    try:
        config = settings.parse(_settings_mapping(module.params), source="roost_certificate")
        result = renew.run(config, force=module.params["force"], check=module.check_mode)
    except CertificateError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.warnings:
        module.warn(warning)
    expiry = result.not_after.isoformat() if result.not_after else None
    before = "".join(f"{n}\n" for n in result.previous_names)
    after = "".join(f"{n}\n" for n in sorted(result.names))
    if expiry:
        before += f"valid until {expiry}\n"
    if not result.changed and expiry:
        after += f"valid until {expiry}\n"
    elif result.changed:
        after += (
            "valid until (a new certificate)\n" if module.check_mode else f"valid until {expiry}\n"
        )
    module.exit_json(
        changed=result.changed,
        action=result.action.value,
        reason=result.reason,
        names=result.names,
        not_after=expiry,
        diff={
            "before_header": "certificate (installed)",
            "after_header": "certificate (after this run)",
            "before": before,
            "after": after,
        },
    )


if __name__ == "__main__":
    main()
