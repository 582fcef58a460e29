"""Keeps DNS provider credentials out of a module's output without masking its results.

The credentials option is ``no_log``, so every value in it is masked, even in the error an
invalid argument gets. That masks numbers too: with ``port: 53`` every "53" in the returned
records, dates and diffs became ``********``, and the play's summary printed them so. Once
the arguments are valid, the port and timeout, which are not secrets, are unmasked again.
"""

from __future__ import annotations

#: Credentials settings that are plain numbers, never secrets.
NOT_SECRET = ("port", "timeout")


def unmask_numbers(module, option):
    """Stops masking the port and timeout of the ``no_log`` dict option OPTION (unless a
    secret in it has the same text)."""
    credentials = module.params[option] or {}
    secrets = {str(v) for k, v in credentials.items() if k not in NOT_SECRET}
    for key in NOT_SECRET:
        value = credentials.get(key)
        if value is not None and str(value) not in secrets:
            module.no_log_values.discard(str(value))
