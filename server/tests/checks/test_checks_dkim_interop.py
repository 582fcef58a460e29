"""roost.dkim.sign output checked by independent verifiers over real DNS (Knot).

- Perl's Mail::DKIM (Debian libmail-dkim-perl), via dkimverify.pl with Net::DNS
  pointed at Knot. Debian 12 ships Mail::DKIM 1.20230212, which predates its
  Ed25519 support, so only the RSA signature is asked of it.
- mailauth (npm, pinned in js/package.json), via dkimverify.mjs: RSA and Ed25519.
- dkimpy called directly, with its own key look-up straight to Knot (not roost's
  verify code): RSA and Ed25519.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dkim
import dns.message
import dns.query
import dns.rdatatype
import pytest

from roost.dkim import DKIMKey, sign
from tests.checks.messages import message
from tests.knot import KnotServer

HERE = Path(__file__).parent
INSTALL_HINT = "run `make test`, which installs the test dependencies"


def _run(argv: list[str], msg: bytes, what: str) -> dict[str, str]:
    """Run a verifier script; {algorithm: result} per signature."""
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} not found for the {what} DKIM verifier: {INSTALL_HINT}", False)
    proc = subprocess.run(argv, input=msg, capture_output=True, timeout=60, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{what} verifier failed ({INSTALL_HINT}): {proc.stderr.decode()}", False)
    results = {}
    for line in proc.stdout.decode().splitlines():
        _domain, _selector, algorithm, result = line.split()[:4]
        results[algorithm] = result
    return results


def mail_dkim(knot: KnotServer, msg: bytes) -> dict[str, str]:
    return _run(["perl", str(HERE / "dkimverify.pl"), knot.address, str(knot.port)], msg, "Perl")


def mailauth(knot: KnotServer, msg: bytes) -> dict[str, str]:
    if not (HERE / "js" / "node_modules" / "mailauth").is_dir():
        pytest.fail(f"mailauth is not installed in {HERE / 'js'}: {INSTALL_HINT}", False)
    argv = ["node", str(HERE / "dkimverify.mjs"), knot.address, str(knot.port)]
    return _run(argv, msg, "mailauth")


def dkimpy(knot: KnotServer, msg: bytes) -> dict[str, bool]:
    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        query = dns.message.make_query(name.decode(), dns.rdatatype.TXT)
        response = dns.query.udp(query, knot.address, port=knot.port, timeout=timeout)
        for rrset in response.answer:
            return b"".join(rrset[0].strings)
        return None

    def check(idx: int) -> bool:
        try:
            return verifier.verify(idx=idx, dnsfunc=dnsfunc)
        except dkim.ValidationError:  # dkimpy raises on a body hash mismatch
            return False

    verifier = dkim.DKIM(msg)
    signatures = [v for k, v in verifier.headers if k.lower() == b"dkim-signature"]
    return {
        dkim.util.parse_tag_value(sig)[b"a"].decode(): check(i) for i, sig in enumerate(signatures)
    }


BOTH = {"rsa-sha256", "ed25519-sha256"}


@pytest.fixture
def signed(example_keys: list[DKIMKey]) -> bytes:
    assert {k.algorithm for k in example_keys} == {"rsa2048", "ed25519"}
    return sign(message(subject="Quarterly report, as promised"), "example.com", example_keys)


def test_mail_dkim_passes_rsa(knot: KnotServer, signed: bytes) -> None:
    assert mail_dkim(knot, signed)["rsa-sha256"] == "pass"


def test_mailauth_passes_both(knot: KnotServer, signed: bytes) -> None:
    assert mailauth(knot, signed) == dict.fromkeys(BOTH, "pass")


def test_dkimpy_passes_both(knot: KnotServer, signed: bytes) -> None:
    assert dkimpy(knot, signed) == dict.fromkeys(BOTH, True)


@pytest.mark.parametrize(
    ("old", "new"),
    [(b"noon", b"one"), (b"Subject: Quarterly", b"Subject: Urgent")],
    ids=["body", "header"],
)
def test_modified_after_signing_fails_everywhere(
    knot: KnotServer, signed: bytes, old: bytes, new: bytes
) -> None:
    tampered = signed.replace(old, new)
    assert tampered != signed
    assert mail_dkim(knot, tampered)["rsa-sha256"] == "fail"
    # mailauth reports a body hash mismatch as "neutral", a bad signature as "fail".
    assert set(mailauth(knot, tampered).values()) <= {"fail", "neutral"}
    assert dkimpy(knot, tampered) == dict.fromkeys(BOTH, False)


def test_whitespace_changes_in_transit_still_pass(
    knot: KnotServer, example_keys: list[DKIMKey]
) -> None:
    body = "".join(f"line {i}   with  spaces \r\n" for i in range(200))
    signed = sign(message(body=body), "example.com", example_keys)
    # relaxed/relaxed (RFC 6376 §3.4.2, §3.4.4) tolerates re-spacing and re-folding.
    respaced = signed.replace(b"   with  spaces ", b" with spaces").replace(
        b"Subject: Lunch", b"Subject:\r\n   Lunch"
    )
    assert mail_dkim(knot, respaced)["rsa-sha256"] == "pass"
    assert mailauth(knot, respaced) == dict.fromkeys(BOTH, "pass")
    assert dkimpy(knot, respaced) == dict.fromkeys(BOTH, True)
