"""The deliverability check behind `roost check`: is this server set up so mail gets through?

One small module per check; each returns :class:`~roost.deliverability.report.Finding` rows
(pass / warn / fail, what was seen, and for a failure the fix in words a user acts on).
:mod:`roost.deliverability.run` runs them in order under one time budget. DNS goes through
an injected :class:`~roost.dns.resolver.Resolver`, so tests point it at a real Knot.
"""
