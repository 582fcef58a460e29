#!/usr/bin/python
"""Ansible module: Roost's DNS record sets in one zone, through the provider the inventory names.

Thin by design: the rules (what is Roost's, SPF merge, conflicts) are in
``roost.dnsprovider`` and unit-tested there; the ``roost`` CLI uses the same code.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_dns_records
short_description: Publish a mail domain's DNS records without touching anything else in the zone
description:
  - Reads the zone once through the DNS provider, computes the changes that make it hold the
    given record sets, and applies them (or only reports them in check mode).
  - Only records Roost manages change; nothing else is ever deleted but the records of the
    DKIM selectors named in O(mail.dkim_retired). A DKIM record at one of Roost's selectors
    that does not hold the server's key is replaced, with a warning. TXT values are told apart
    by their prefix (C(v=spf1), C(v=DMARC1), ...), so other TXT records at a name are kept.
    An existing SPF record keeps its mechanisms and gains Roost's (at most 10 look-ups).
    A record the zone holds where Roost wants another (an MX, a DMARC policy) is reported as a
    warning and kept, unless O(replace_conflicts) is set.
  - With O(state=absent) (a domain taken out of C(roost_domains)) the same record sets are
    deleted instead, but only the values Roost would write (a user's own MX, DMARC or address
    at the same name stays); Roost's mechanisms leave the SPF record, which goes only if Roost
    wrote all of it; every C(v=STSv1) value at C(_mta-sts) and the DKIM records of
    O(mail.dkim_retired) go.
  - Runs on the controller (C(delegate_to=localhost)) with the C(roost) package installed.
version_added: "0.1.0"
author: Roost
options:
  provider:
    description: The DNS provider (C(roost_dns_provider)).
    type: str
    required: true
    choices: [lexicon, rfc2136, tencentcloud]
  credentials:
    description:
      - The provider's settings (C(roost_dns_credentials)).
      - C(tencentcloud) takes C(secret_id), C(secret_key), C(endpoint), C(ca_file);
        C(rfc2136) takes C(server), C(port), C(tsig_name), C(tsig_algorithm), C(tsig_secret).
      - C(lexicon) takes C(provider_name) (a dns-lexicon provider such as C(powerdns),
        C(cloudflare), C(hetzner)) and that provider's options as lexicon names them
        (C(auth_token), C(pdns_server), ...); it needs C(roost[lexicon]) on the controller.
      - Every value but the numbers (C(port), C(timeout)) is masked in Ansible's output (C(no_log)).
    type: dict
    required: true
  zone:
    description: The zone (a domain of C(roost_domains)).
    type: str
    required: true
  state:
    description: C(present) publishes the record sets, C(absent) deletes Roost's values of them.
    type: str
    choices: [present, absent]
    default: present
  mail:
    description:
      - Derive every record a mail domain needs (A/AAAA of the mail host when inside the zone,
        MX, SPF, DKIM, DMARC, TLS-RPT, MTA-STS id, mta-sts/autoconfig/autodiscover addresses,
        RFC 6186 SRV) from these inputs.
    type: dict
    suboptions:
      host: {description: The mail host FQDN (C(roost_hostname)), type: str, required: true}
      ipv4: {description: The VPS's IPv4 address, type: str}
      ipv6: {description: The VPS's IPv6 address, type: str}
      dkim:
        description: DKIM keys to publish (C(roost_dkim_records[zone])).
        type: list
        elements: dict
        default: []
        suboptions:
          selector: {description: The selector, type: str, required: true}
          value: {description: The TXT value (C(v=DKIM1; k=...; p=...)), type: str, required: true}
          phase:
            description:
              - The selector's phase on the server. A C(pending) record is always waited for
                (every authoritative server must serve it before the server signs with it),
                even when an earlier run created it.
            type: str
            choices: [pending, active, retiring]
            default: active
      dkim_retired:
        description:
          - Selectors Roost made and has retired (C(roost_dkim_retired[zone])); their
            C(v=DKIM1) records are deleted. No other C(_domainkey) record is ever touched.
        type: list
        elements: str
        default: []
      dmarc_policy: {description: DMARC p=, type: str, default: none, choices: [none, quarantine, reject]}
      dmarc_rua: {description: DMARC aggregate report address, type: str}
      tlsrpt_rua: {description: TLS-RPT report address, type: str}
      mta_sts_id: {description: MTA-STS policy id (omit to leave C(_mta-sts) alone), type: str}
      relay_spf:
        description: SPF mechanisms for the relay smarthost (C(a:relay.example.net)).
        type: list
        elements: str
        default: []
  records:
    description: Further record sets, e.g. the C(_mta-sts) TXT the mta_sts role publishes.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Owner name, relative to O(zone) (C(@) for the apex) or absolute, type: str, required: true}
      type: {description: Record type, type: str, required: true, choices: [A, AAAA, CNAME, MX, TXT, SRV]}
      values: {description: Values in presentation form; TXT unquoted, type: list, elements: str, required: true}
      ttl: {description: TTL in seconds, type: int, default: 600}
      match:
        description: TXT only. The prefix of the values this set owns; without it the values are only added.
        type: str
      replace:
        description: Owned values that differ are replaced without counting as a conflict.
        type: bool
        default: false
  ttl:
    description: TTL of the records derived from O(mail).
    type: int
    default: 600
  replace_conflicts:
    description: Replace records that conflict with Roost's instead of keeping them.
    type: bool
    default: false
  wait:
    description: After a change, wait until every authoritative server of the zone serves it.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for O(wait).
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: Reads the zone and reports the changes it would make, making none.
  diff_mode:
    support: full
    description: Shows the managed names before and after, one record per line.
  idempotent:
    support: full
    description: A zone that holds the records gets no change (only read calls).
requirements:
  - roost (the server package, from C(server/)) in the controller's Python
"""

EXAMPLES = r"""
- name: Publish the mail records of example.org
  roost_dns_records:
    provider: tencentcloud
    credentials: "{{ roost_dns_credentials }}"
    zone: example.org
    mail:
      host: mail.example.org
      ipv4: 203.0.113.10
      dkim: "{{ roost_dkim_records['example.org'] }}"
      dmarc_policy: quarantine
      dmarc_rua: dmarc-reports@example.org
  delegate_to: localhost

- name: Publish the MTA-STS id once the policy is served
  roost_dns_records:
    provider: "{{ roost_dns_provider }}"
    credentials: "{{ roost_dns_credentials }}"
    zone: example.org
    records:
      - {name: _mta-sts, type: TXT, values: ["v=STSv1; id=20261130"], match: "v=STSv1", replace: true}
  delegate_to: localhost
"""

RETURN = r"""
records:
  description: Every record of the managed sets after the run (what the zone holds, or would).
  returned: always
  type: list
  elements: dict
  sample: [{name: example.org, type: MX, value: "10 mail.example.org.", ttl: 600}]
changes:
  description: The changes made (or, in check mode, that would be made).
  returned: always
  type: list
  elements: dict
  sample: [{action: create, name: _dmarc.example.org, type: TXT, value: "v=DMARC1; p=none"}]
conflicts:
  description: Records kept although Roost wanted others, with the fix.
  returned: always
  type: list
  elements: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from roost.dnsprovider import (
        DNSProviderError,
        Record,
        open_provider,
        public_option_values,
        wait_for_propagation,
    )
    from roost.dnsprovider.base import in_zone, normalize_name
    from roost.dnsprovider.plan import RecordSet, sync
    from roost.dnsprovider.records import (
        MailDomain,
        dkim_repairs,
        mail_records,
        removed_mail_records,
    )
except ImportError:
    ROOST_IMPORT_ERROR = traceback.format_exc()
else:
    ROOST_IMPORT_ERROR = None

_RECORD_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "SRV"]
ARGUMENT_SPEC = {
    "provider": {
        "type": "str",
        "required": True,
        "choices": ["lexicon", "rfc2136", "tencentcloud"],
    },
    "credentials": {"type": "dict", "required": True, "no_log": True},
    "zone": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "mail": {
        "type": "dict",
        "options": {
            "host": {"type": "str", "required": True},
            "ipv4": {"type": "str"},
            "ipv6": {"type": "str"},
            "dkim": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "selector": {"type": "str", "required": True},
                    "value": {"type": "str", "required": True},
                    "phase": {
                        "type": "str",
                        "choices": ["pending", "active", "retiring"],
                        "default": "active",
                    },
                },
            },
            "dkim_retired": {"type": "list", "elements": "str", "default": []},
            "dmarc_policy": {
                "type": "str",
                "default": "none",
                "choices": ["none", "quarantine", "reject"],
            },
            "dmarc_rua": {"type": "str"},
            "tlsrpt_rua": {"type": "str"},
            "mta_sts_id": {"type": "str"},
            "relay_spf": {"type": "list", "elements": "str", "default": []},
        },
    },
    "records": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "name": {"type": "str", "required": True},
            "type": {"type": "str", "required": True, "choices": _RECORD_TYPES},
            "values": {"type": "list", "elements": "str", "required": True},
            "ttl": {"type": "int", "default": 600},
            "match": {"type": "str"},
            "replace": {"type": "bool", "default": False},
        },
    },
    "ttl": {"type": "int", "default": 600},
    "replace_conflicts": {"type": "bool", "default": False},
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 300},
}


def _owner(zone, name):
    """A record name as written in the task: ``@``, relative to the zone, or absolute."""
    if name == "@":
        return zone
    return name if in_zone(zone, name) else f"{name}.{zone}"


def _record_sets(params, zone):
    sets = []
    mail = params["mail"]
    if mail:
        spec = MailDomain(
            domain=zone,
            mail_host=mail["host"],
            ipv4=mail["ipv4"],
            ipv6=mail["ipv6"],
            dkim=[(k["selector"], k["value"]) for k in mail["dkim"]],
            dkim_retired=mail["dkim_retired"],
            dmarc_policy=mail["dmarc_policy"],
            dmarc_rua=mail["dmarc_rua"],
            tlsrpt_rua=mail["tlsrpt_rua"],
            mta_sts_id=mail["mta_sts_id"],
            relay_spf=mail["relay_spf"],
            ttl=params["ttl"],
        )
        sets += (removed_mail_records if params["state"] == "absent" else mail_records)(spec)
    for item in params["records"]:
        record_set = RecordSet.make(
            _owner(zone, item["name"]),
            item["type"],
            item["values"],
            ttl=item["ttl"],
            match=item["match"],
            replace=item["replace"],
        )
        sets.append(record_set.gone() if params["state"] == "absent" else record_set)
    return sets


def _awaited(params, zone, result):
    """Records to wait for: the ones created (with O(wait)) and every pending DKIM key."""
    records = [c.record for c in result.changes if c.action == "create"] if params["wait"] else []
    for key in (params["mail"] or {}).get("dkim", []):
        if key["phase"] == "pending":
            name = f"{key['selector']}._domainkey.{zone}"
            records.append(Record.make(name, "TXT", key["value"]))
    return list(dict.fromkeys(records))


def _in_use(params, zone):
    """Names of the DKIM keys that sign or retire: their records should be there already."""
    keys = (params["mail"] or {}).get("dkim", [])
    return [f"{k['selector']}._domainkey.{zone}" for k in keys if k["phase"] != "pending"]


def _as_dict(record):
    return {"name": record.name, "type": record.type, "value": record.value, "ttl": record.ttl}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if ROOST_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("roost"), exception=ROOST_IMPORT_ERROR)
    # no_log masks every credentials value; the numbers (the port) are no secret.
    module.no_log_values.difference_update(public_option_values(module.params["credentials"]))
    params = module.params
    try:
        zone = normalize_name(params["zone"])
        wanted = _record_sets(params, zone)
        provider = open_provider(params["provider"], params["credentials"])
        result = sync(
            provider,
            zone,
            wanted,
            replace_conflicts=params["replace_conflicts"],
            check=module.check_mode,
        )
        if not module.check_mode:
            for rec in _awaited(params, zone, result):
                wait_for_propagation(
                    zone, rec.name, rec.type, [rec.value], timeout=params["wait_timeout"]
                )
    except DNSProviderError as exc:
        module.fail_json(msg=str(exc))
    conflicts = [c.message() for c in result.conflicts]
    for message in conflicts + dkim_repairs(result, _in_use(params, zone)):
        module.warn(message)
    output = {
        "changed": result.changed,
        "records": [_as_dict(r) for r in sorted(result.after)],
        "changes": [{"action": c.action, **_as_dict(c.record)} for c in result.changes],
        "conflicts": conflicts,
    }
    if module._diff:
        output["diff"] = result.diff()
    module.exit_json(**output)


if __name__ == "__main__":
    main()
