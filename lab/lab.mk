# The lab ("internet in a box", lab/README.md). Included by the top Makefile.
# Everything here runs as root on Debian 12 and installs what it needs.
LAB_DEBS := debootstrap systemd-container iproute2 nftables knot knot-dnsutils pebble \
	dpkg-dev openssh-client curl ca-certificates python3-venv shellcheck \
	pdns-server pdns-backend-sqlite3
LAB_STAMPS ?= .stamps
LAB_VENV ?= .venv
LAB_PYTHON ?= /usr/bin/python3

.PHONY: lab-deps lab-venv lab-up lab-down lab-test lab-lint lab-block25 lab-unblock25 lab-status

# Host packages (scripts/apt-install keeps their own daemons, knot's, from starting on the
# host: the lab runs its own, inside its namespaces).
$(LAB_STAMPS)/lab-debs: lab/lab.mk scripts/apt-install
	@mkdir -p $(LAB_STAMPS)
	@scripts/apt-install $(LAB_DEBS)
	@touch $@

# pyvenv.cfg: a venv made anew (by anyone) gets the lab requirements again.
$(LAB_STAMPS)/lab-venv: lab/requirements.txt $(wildcard $(LAB_VENV)/pyvenv.cfg)
	@mkdir -p $(LAB_STAMPS)
	@[ -x $(LAB_VENV)/bin/python ] || $(LAB_PYTHON) -m venv $(LAB_VENV)
	@$(LAB_VENV)/bin/pip install -q --disable-pip-version-check -r lab/requirements.txt
	@touch $@

lab-deps: $(LAB_STAMPS)/lab-debs
lab-venv: $(LAB_STAMPS)/lab-venv

lab-up: lab-deps lab-venv
	@lab/bin/lab-up

lab-down:
	@lab/bin/lab-down

lab-status:
	@lab/bin/lab-status

lab-block25:
	@lab/bin/lab-port25 block

lab-unblock25:
	@lab/bin/lab-port25 unblock

# The lab's own tests: they bring the lab up if it is not (make lab-up), run
# inside its controller namespace, and end by taking it down and checking
# that nothing is left behind.
lab-test: lab-deps lab-venv
	@$(LAB_VENV)/bin/python -m pytest -q -p no:cacheprovider lab/tests

# Lint of the lab's own code (Python: lab/ruff.toml; shell: shellcheck).
lab-lint: lab-deps lab-venv
	$(LAB_VENV)/bin/ruff check lab
	$(LAB_VENV)/bin/ruff format --check lab
	shellcheck -x lab/run lab/bin/* lab/lib/*.sh lab/lib/cgroup-exec
