# shellcheck shell=bash
# The lab's Python helpers run from the project venv with lab/ on the path.
lab_py() { PYTHONPATH="$LAB_DIR${PYTHONPATH:+:$PYTHONPATH}" "$LAB_VENV/bin/python" "$@"; }

lab_ca_init() { lab_py -m roostlab.ca init "$LAB_STATE/ca"; }
# lab_ca_issue STEM NAME... : writes $LAB_STATE/ca/STEM.{crt,key}
lab_ca_issue() { local stem="$1"; shift; lab_py -m roostlab.ca issue "$LAB_STATE/ca" "$stem" "$@"; }

# A random token of letters and digits (for passwords and API secrets).
lab_random() {
  python3 -c 'import secrets, string, sys; a = string.ascii_letters + string.digits
print("".join(secrets.choice(a) for _ in range(int(sys.argv[1]))))' "${1:-32}"
}
