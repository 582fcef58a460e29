"""Shared by the modules that act on the Roost server through its `roost` command.

The command drops to the service user itself, so files it creates belong to the server, and
prints JSON; the module stays a thin door onto the same code. On a fresh VPS in check mode
the command is not installed yet: the module then reports what it would do.
"""

from __future__ import annotations

import json
import os

COMMON_OPTIONS = {
    "config": {"type": "path", "default": "/etc/roost/roost.toml"},
    "roost": {"type": "path", "default": "/opt/roost/bin/roost"},
}


def run_roost(module, args, would, data=None, planned=None):
    """Runs `roost -c CONFIG ARGS...` and returns its JSON output (check mode adds --check).

    Without the command: in check mode the module ends reporting ``would`` (and the
    ``planned`` result fields); else it fails naming the role that installs it.
    """
    command = module.params["roost"]
    if not os.access(command, os.X_OK):
        if module.check_mode:
            module.exit_json(
                changed=True, msg=f"Roost is not installed yet; would {would}", **(planned or {})
            )
        module.fail_json(msg=f"{command} not found: run the roost role first (it installs Roost)")
    argv = [command, "-c", module.params["config"], *args]
    if module.check_mode:
        argv.append("--check")
    rc, out, err = module.run_command(argv, data=data, binary_data=data is None)
    if rc != 0:
        module.fail_json(msg=err.strip() or f"{' '.join(args)} failed with status {rc}")
    try:
        return json.loads(out)
    except ValueError:
        module.fail_json(msg=f"roost {' '.join(args)} printed no JSON: {out[:200]!r}")
