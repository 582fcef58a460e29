"""Open-relay self-test: a stranger must not be able to send mail through us.

Connects to our own port 25 on the public address, as any client on the internet would,
and asks to relay from a foreign sender to a foreign recipient. RFC 5321 §3.6.2 /
RFC 5321 §7.1: a server that is not a relay for them must refuse the recipient (5xx at
RCPT). DATA is never sent, so nothing is delivered even if the server wrongly agrees.
"""

from __future__ import annotations

import smtplib

from roost.deliverability.context import Context
from roost.deliverability.report import Finding, failed, passed, warned

#: RFC 2606 names no one hosts: neither side of the test is ours.
SENDER = "roost-relay-test@example.com"
RECIPIENT = "roost-relay-test@example.net"


def check_open_relay(ctx: Context) -> list[Finding]:
    port = ctx.ports.get("smtp")
    if port is None or not ctx.addresses:
        return [warned(ctx.hostname, "open relay", "no SMTP listener or address to test")]
    address = ctx.addresses[0]
    try:
        with smtplib.SMTP(address, port, local_hostname=ctx.hostname, timeout=ctx.timeout) as smtp:
            smtp.ehlo()
            code, text = smtp.mail(SENDER)
            if code != 250:
                return [
                    warned(
                        address,
                        "open relay",
                        f"not tested: MAIL FROM refused: {code} {text.decode(errors='replace')}",
                    )
                ]
            code, text = smtp.rcpt(RECIPIENT)
            reply = f"{code} {text.decode(errors='replace')}"
            smtp.rset()
    except (OSError, smtplib.SMTPException) as err:
        return [
            warned(
                address,
                "open relay",
                f"not tested: port {port}: {err}",
                "start the server (systemctl start roost)",
            )
        ]
    if 500 <= code < 600:
        return [passed(address, "open relay", f"relaying for strangers refused: {reply}")]
    if 200 <= code < 300:
        return [
            failed(
                address,
                "open relay",
                f"accepted {RECIPIENT} from {SENDER} without "
                f"authentication: {reply}. Spammers will use this server",
                "stop the server now (systemctl stop roost) and report this as a bug; "
                "relaying must need authentication",
            )
        ]
    return [warned(address, "open relay", f"neither refused nor accepted: {reply}")]
