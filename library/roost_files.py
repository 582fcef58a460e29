#!/usr/bin/python
"""Ansible module: several small files and directories converged in one module run.

Why it exists: ``ansible.builtin.copy`` and ``template`` cost two module runs and three
shell commands per file even when nothing changes, and ``file`` one run per path; most of a
re-run of site.yml was spent there. The roles give each task's few paths to this module
instead (rendering templates on the controller with the template lookup), so a re-run reads
them in one round trip. It needs nothing but Python's standard library and Ansible's own
file helpers (owner, group and mode through ``set_fs_attributes_if_different``), so the
base role can use it before Roost is installed.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: roost_files
short_description: Converge a few files (content, owner, group, mode) and directories in one run
description:
  - For each entry, in order, makes the path hold the given content and attributes, be a
    directory, or be absent. Only what differs changes; check mode and diff show it.
  - A file is replaced atomically (a reader never sees half of it). Its directory must exist
    (an earlier entry may create it); in check mode a missing one is reported as a change.
  - A task that writes a secret must set C(no_log), as the certificates role does for its
    settings file; otherwise the content shows in the diff.
version_added: "0.1.0"
author: Roost
options:
  files:
    description: The paths to converge, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      path: {description: Absolute path, type: path, required: true}
      state:
        description:
          - C(file) a regular file (with O(files[].content), or an existing one whose
            attributes alone are managed), C(directory), or C(absent) (a directory goes
            with everything in it).
        type: str
        choices: [file, directory, absent]
        default: file
      content: {description: The file's text; omitted, the content is left as it is, type: str}
      owner: {description: Owner name, type: str}
      group: {description: Group name, type: str}
      mode:
        description:
          - Mode, an octal string such as C("0644"). A new file written without one is 0600.
        type: raw
attributes:
  check_mode: {support: full}
  diff_mode: {support: full}
  idempotent: {support: full}
"""

EXAMPLES = r"""
- name: Configure apt
  roost_files:
    files:
      - path: /etc/apt/apt.conf.d/90example
        content: "DPkg::Lock::Timeout \"900\";\n"
        owner: root
        group: root
        mode: "0644"
      - path: /etc/example
        state: directory
        mode: "0750"
"""

RETURN = r"""
files:
  description: Each path and whether it changed.
  returned: success
  type: list
  elements: dict
  sample: [{path: /etc/apt/apt.conf.d/90example, changed: false}]
"""

import grp
import os
import pwd
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC = {
    "files": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "path": {"type": "path", "required": True},
            "state": {
                "type": "str",
                "choices": ["file", "directory", "absent"],
                "default": "file",
            },
            "content": {"type": "str"},
            "owner": {"type": "str"},
            "group": {"type": "str"},
            "mode": {"type": "raw"},
        },
    },
}


def _read(path):
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        return None


def _text(data):
    return "" if data is None else data.decode("utf-8", errors="replace")


def _ids(entry, path):
    """The owner and group ids to give a new file (-1: leave as the writer gets them)."""
    uid = pwd.getpwnam(entry["owner"]).pw_uid if entry["owner"] else -1
    gid = grp.getgrnam(entry["group"]).gr_gid if entry["group"] else -1
    if os.path.exists(path):
        status = os.stat(path)
        uid = status.st_uid if uid == -1 else uid
        gid = status.st_gid if gid == -1 else gid
    return uid, gid


def _write(path, data, entry):
    """Writes DATA beside PATH with its final owner and mode, then renames it over PATH.

    Readers never see half a file, and a secret is never readable by others on its way
    (a new file's mode is set before it has a name others can open; 0600 when none is given).
    """
    mode = entry["mode"]
    if isinstance(mode, str):
        mode = int(mode, 8)
    elif mode is None and os.path.exists(path):
        mode = stat.S_IMODE(os.stat(path).st_mode)
    uid, gid = _ids(entry, path)
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".roost-files.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chown(temporary, uid, gid)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _attributes(module, entry, changed, diffs):
    arguments = {
        "path": entry["path"],
        "owner": entry["owner"],
        "group": entry["group"],
        "mode": entry["mode"],
        "secontext": None,
        "attributes": None,
    }
    diff = {"before": {"path": entry["path"]}, "after": {"path": entry["path"]}}
    changed = module.set_fs_attributes_if_different(arguments, changed, diff, expand=False)
    if set(diff["before"]) - {"path"}:
        diffs.append(diff)
    return changed


def _converge_file(module, entry, diffs):
    path = entry["path"]
    if os.path.isdir(path):
        module.fail_json(msg=f"{path} is a directory: a file belongs there")
    before = _read(path)
    if entry["content"] is None:
        if before is None and not module.check_mode:
            module.fail_json(msg=f"{path} does not exist (its attributes alone are managed here)")
        return before is None or _attributes(module, entry, False, diffs)
    data = entry["content"].encode("utf-8")
    changed = before != data
    if changed:
        diffs.append(
            {
                "before_header": path,
                "after_header": path,
                "before": _text(before),
                "after": entry["content"],
            }
        )
        if module.check_mode:
            return True
        if not os.path.isdir(os.path.dirname(path)):
            module.fail_json(
                msg=f"{os.path.dirname(path)} does not exist: {path} cannot be written"
            )
        _write(path, data, entry)
    return _attributes(module, entry, changed, diffs)


def _converge_directory(module, entry, diffs):
    path = entry["path"]
    if os.path.lexists(path) and not os.path.isdir(path):
        module.fail_json(msg=f"{path} is not a directory: a directory belongs there")
    if os.path.isdir(path):
        return _attributes(module, entry, False, diffs)
    diffs.append(
        {"before": {"path": path, "state": "absent"}, "after": {"path": path, "state": "directory"}}
    )
    if not module.check_mode:
        os.makedirs(path)
        _attributes(module, entry, True, [])
    return True


def _converge_absent(module, entry, diffs):
    path = entry["path"]
    if not os.path.lexists(path):
        return False
    is_dir = os.path.isdir(path) and not os.path.islink(path)
    diffs.append(
        {
            "before": {"path": path, "state": "directory" if is_dir else "file"},
            "after": {"path": path, "state": "absent"},
        }
    )
    if not module.check_mode:
        if is_dir:
            shutil.rmtree(path)
        else:
            os.unlink(path)
    return True


CONVERGE = {"file": _converge_file, "directory": _converge_directory, "absent": _converge_absent}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    diffs = []
    results = []
    try:
        for entry in module.params["files"]:
            changed = CONVERGE[entry["state"]](module, entry, diffs)
            results.append({"path": entry["path"], "changed": bool(changed)})
    except OSError as exc:
        module.fail_json(msg=f"{exc.filename or 'a path'}: {exc.strerror or exc}")
    except KeyError as exc:  # pwd/grp: the owner or group does not exist (yet)
        module.fail_json(msg=f"no such user or group on this host: {exc.args[0]}")
    result = {"changed": any(r["changed"] for r in results), "files": results}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
