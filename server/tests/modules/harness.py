"""Runs a module of the repository's ``library/`` in this process, as Ansible would run it.

The arguments go in through ``ansible.module_utils.testing.patch_module_args`` (ansible-core's
own unit-test entry point); the result comes out the real way, as the JSON that
``exit_json``/``fail_json`` print before exiting, so ``no_log`` masking and warnings are what
a play would see. ``module_utils/`` is put where Ansible ships it, under
``ansible.module_utils``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import ansible.module_utils
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args

REPO = Path(__file__).resolve().parents[3]
LIBRARY = REPO / "library"
MODULES = sorted(p.stem for p in LIBRARY.glob("roost_*.py"))

if str(REPO / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(REPO / "module_utils"))


def load(name: str) -> ModuleType:
    """The module file NAME of library/, imported under its own name."""
    spec = importlib.util.spec_from_file_location(name, LIBRARY / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_module(
    name: str, args: dict[str, Any], *, check: bool = False, diff: bool = True
) -> tuple[dict[str, Any], str]:
    """Runs NAME's main() with ARGS; returns its result and the raw text it printed."""
    module = load(name)
    arguments = {**args, "_ansible_check_mode": check, "_ansible_diff": diff}
    out = io.StringIO()
    warnings._global_warnings.clear()  # one module run per process in Ansible
    with patch_module_args(arguments), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit as exited:
            status = exited.code
        else:
            raise AssertionError(f"{name} returned without exit_json or fail_json")
    raw = out.getvalue()
    result = json.loads(raw)
    assert (status == 0) == (not result.get("failed")), raw
    return result, raw
