"""Outbound delivery: where mail for a domain goes (routes, smarthost, MX), how (TLS policy),
and the SMTP client transaction itself."""
