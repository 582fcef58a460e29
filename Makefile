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
# SASL (the remote MTA and the smarthost), PowerDNS with its HTTP API (the lexicon provider).
TEST_DEBS := python3-venv python3-dev swaks knot knot-dnsutils libmail-dkim-perl \
	libnet-dns-perl ca-certificates openssl postfix sasl2-bin libsasl2-modules \
	libsasl2-modules-db pdns-server pdns-backend-sqlite3

.PHONY: help test demo deps venv lint unit clean bench-smtp-ingest bench-relay

include lab/lab.mk

help:
	@echo "make demo   run a local Roost on loopback and send a message through it"
	@echo "make test   install what is needed and run every test"

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

lint: venv lab-lint
	$(VENV)/bin/ruff check server bench
	$(VENV)/bin/ruff format --check server bench

unit: deps venv
	cd server && ../$(VENV)/bin/pytest -q

# The lab's tests run in their own pytest run: they bring the lab up, and take it down.
test: lint unit lab-test

demo: deps venv
	@PATH=$(CURDIR)/$(VENV)/bin:$$PATH ./scripts/demo-local

# Benchmarks compare Roost with a real Postfix in the same run; they are not part of `make test`.
bench-smtp-ingest: venv
	bench/smtp_ingest/run $(BENCH_ARGS)

bench-relay: venv
	bench/relay/run $(BENCH_ARGS)

clean:
	rm -rf $(STAMPS)
