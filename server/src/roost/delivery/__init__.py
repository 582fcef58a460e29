"""Outbound delivery: where mail for a domain goes (routes, smarthost, MX), how (TLS policy),
and the SMTP client transaction itself; before any of it, whether direct delivery is possible
at all (:mod:`.probe`) and whether a relay takes our credentials (:mod:`.relaylogin`)."""
