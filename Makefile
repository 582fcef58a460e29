# Roost: two entry points for people (README): `make demo` and `make test`.
# Both install what they need: Debian packages (as root, via apt) and the project venv.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
# Debian's own python3 (what the VPS runs); also readable by the unprivileged user the
# server drops to, unlike an interpreter installed under /root.
PYTHON := /usr/bin/python3
STAMPS := .stamps

# Debian packages the test suite drives as real peers: swaks (SMTP client), knot (a real DNS
# server for SPF/DKIM/DMARC), Mail::DKIM (an independent DKIM verifier), Postfix with Cyrus
# SASL (the remote MTA and the smarthost), Dovecot (the IMAP reference for FETCH results),
# isync (mbsync, a real IMAP sync client), PowerDNS with its HTTP API (the lexicon provider),
# offlineimap3 (a second sync client), neomutt and tmux (a terminal mail client, driven on screen).
TEST_DEBS := python3-venv python3-dev swaks knot knot-dnsutils libmail-dkim-perl \
	libnet-dns-perl ca-certificates openssl postfix sasl2-bin libsasl2-modules \
	libsasl2-modules-db dovecot-imapd isync pdns-server pdns-backend-sqlite3 \
	offlineimap3 neomutt tmux

.PHONY: help test demo deps venv lint unit clean bench-smtp-ingest bench-relay bench-imap \
	controller molecule ansible-lint

include lab/lab.mk

help:
	@echo "make demo        build the lab, provision its VPS with site.yml, mail the peer and back"
	@echo "make demo KEEP=1 the same, and leave the lab up (make lab-down removes it)"
	@echo "make test        install what is needed and run every test (molecule included)"
	@echo "make controller  only what ansible-playbook site.yml needs, in .venv"

$(STAMPS)/debs: Makefile scripts/apt-install
	@mkdir -p $(STAMPS)
	@scripts/apt-install $(TEST_DEBS)
	@touch $@

$(STAMPS)/venv: server/pyproject.toml
	@mkdir -p $(STAMPS)
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	@$(VENV)/bin/pip install -q --disable-pip-version-check -e 'server[test]'
	@touch $@

# mailauth (npm) is the independent Ed25519 DKIM verifier: Debian 12's Mail::DKIM predates it.
$(STAMPS)/npm: server/tests/checks/js/package-lock.json
	@mkdir -p $(STAMPS)
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm \
		>/dev/null; }
	@npm ci --prefix server/tests/checks/js --no-audit --no-fund --silent
	@touch $@

deps: $(STAMPS)/debs $(STAMPS)/npm
venv: $(STAMPS)/venv

lint: venv lab-lint ansible-lint
	$(VENV)/bin/ruff check server bench library module_utils scripts/imap-read
	$(VENV)/bin/ruff format --check server bench library module_utils scripts/imap-read
	shellcheck -x scripts/demo scripts/apt-install bench/provision/run

# The toolkit: production profile (.ansible-lint).
ansible-lint: venv lab-venv
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/ansible-lint --nocolor -q

# A controller for your own VPS: ansible-core and the roost package (requirements.txt).
controller:
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	@echo "ready: .venv/bin/ansible-playbook -i inventories/prod site.yml"

# The toolkit on the lab: each scenario gets a fresh lab (molecule runs inside it, lab/run)
# and takes it down at the end (its destroy step).
molecule: venv lab-venv lab-deps
	@$(MAKE) --no-print-directory lab-up
	lab/run molecule test -s default
	@$(MAKE) --no-print-directory lab-up
	lab/run molecule test -s relay

unit: deps venv
	cd server && ../$(VENV)/bin/pytest -q

# The lab's tests run in their own pytest run: they bring the lab up, and take it down.
test: lint unit lab-test molecule

# The lab, site.yml on its VPS, a message to the peer and the reply back, a summary.
demo: deps venv lab-venv lab-deps
	@KEEP=$(KEEP) scripts/demo

# Benchmarks compare Roost with a real Postfix (or Dovecot, for IMAP) in the same run; they
# are not part of `make test`.
bench-smtp-ingest: venv
	bench/smtp_ingest/run $(BENCH_ARGS)

bench-relay: venv
	bench/relay/run $(BENCH_ARGS)

bench-imap: venv
	bench/imap/run $(BENCH_ARGS)

clean:
	rm -rf $(STAMPS)
