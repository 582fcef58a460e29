"""The renewal settings: names derived from hostname and domains, errors naming the variable."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from roost.acme import settings
from roost.acme.errors import SettingsError


def good(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "directory": "https://acme.example/dir",
        "email": "postmaster@example.test",
        "dns": {"provider": "rfc2136", "credentials": {"server": "192.0.2.1"}},
        "hostname": "mail.example.test",
        "domains": ["example.test", "second.test"],
    }
    data.update(changes)
    return data


def test_names_are_the_mail_host_then_each_domains_web_names() -> None:
    parsed = settings.parse(good())
    assert parsed.names == [
        "mail.example.test",
        "mta-sts.example.test",
        "autoconfig.example.test",
        "autodiscover.example.test",
        "mta-sts.second.test",
        "autoconfig.second.test",
        "autodiscover.second.test",
    ]
    assert parsed.fullchain == Path("/etc/roost/tls/fullchain.pem")
    assert parsed.reload == ("roost.service", "nginx.service")


def test_hostnames_are_lowercased_and_deduplicated() -> None:
    parsed = settings.parse(good(hostname="MAIL.Example.Test.", domains=["example.test"] * 2))
    assert parsed.names[0] == "mail.example.test"
    assert len(parsed.names) == 4


def test_eab_and_secrets_stay_out_of_repr() -> None:
    parsed = settings.parse(good(eab={"kid": "kid-1", "hmac_key": "c2VjcmV0"}))
    assert parsed.eab is not None and parsed.eab.kid == "kid-1"
    assert "c2VjcmV0" not in repr(parsed)
    assert "192.0.2.1" not in repr(parsed)


@pytest.mark.parametrize(
    ("changes", "variable", "words"),
    [
        ({"directory": None}, "roost_acme_directory", "is required"),
        ({"directory": "http://acme.example/dir"}, "roost_acme_directory", "https://"),
        ({"dns": {"provider": "", "credentials": {}}}, "roost_dns_provider", "DNS provider"),
        ({"dns": {"provider": "rfc2136", "credentials": "x"}}, "roost_dns_credentials", "mapping"),
        ({"hostname": "mail"}, "roost_hostname", "fully qualified"),
        ({"domains": ["exa mple.test"]}, "roost_domains", "fully qualified"),
        ({"domains": "example.test"}, "roost_domains", "list"),
        ({"domains": [f"d{i}.test" for i in range(34)]}, "roost_domains", "holds 100"),
        ({"eab": {"kid": "k"}}, "roost_acme_eab", "hmac_key"),
        ({"ca_file": "/nonexistent/ca.pem"}, "roost_acme_ca_file", "existing file"),
        ({"email": 5}, "roost_acme_email", "string"),
    ],
)
def test_bad_values_name_the_inventory_variable(
    changes: dict[str, Any], variable: str, words: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        settings.parse(good(**changes))
    assert variable in str(caught.value)
    assert words in str(caught.value)


def test_unknown_keys_and_bad_timeouts_are_refused() -> None:
    with pytest.raises(SettingsError, match=r"unknown key.*directoy"):
        settings.parse(good(directoy="x"))
    with pytest.raises(SettingsError, match="validation_timeout"):
        settings.parse(good(validation_timeout=0))
    with pytest.raises(SettingsError, match="tls_dir must be an absolute path"):
        settings.parse(good(tls_dir="tls"))


def test_load_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist; run the certificates role"):
        settings.load(tmp_path / "acme.json")
    (tmp_path / "acme.json").write_text("{not json")
    with pytest.raises(SettingsError, match="is not JSON"):
        settings.load(tmp_path / "acme.json")
    (tmp_path / "acme.json").write_text(json.dumps(good()))
    assert settings.load(tmp_path / "acme.json").hostname == "mail.example.test"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=6,
)


@hypothesis_settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*sorted(good()), "eab", "reload", "tls_dir"]), _json))
def test_any_json_parses_or_fails_with_a_settings_error(data: dict[str, Any]) -> None:
    with contextlib.suppress(SettingsError):
        settings.parse({**good(), **data})
