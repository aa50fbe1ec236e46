# Two entry points for a fresh machine (see README "Quick start"): `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
VENV ?= .venv
PY := $(VENV)/bin/python

# CI's lock file: every package `.[all,test]` needs, pinned with sha256 hashes, for Linux x86_64 / CPython 3.11
# (README "Refreshing the lock file"). `make install LOCK_FILE=` installs from pyproject.toml's ranges instead
# (another OS, CPU or Python).
LOCK_FILE ?= requirements/ci.lock
PIP_TOOLS := pip-tools==7.6.2
# `make lock` re-resolves everything to the newest releases pyproject.toml allows; `LOCK_UPGRADE=` keeps the
# current pins and only follows pyproject.toml's changes; `LOCK_UPGRADE='--upgrade-package NAME'` bumps one.
LOCK_UPGRADE ?= --upgrade
PIP_QUIET := 2>&1 | { grep -v '^WARNING: Location' || true; }

$(VENV)/.installed: pyproject.toml $(LOCK_FILE)
	python3 -m venv $(VENV)
ifeq ($(strip $(LOCK_FILE)),)
	$(VENV)/bin/pip install -q -e '.[all,test]' $(PIP_QUIET)
else
# The lock is installed as it is, resolving nothing: --no-deps, so pip never reads a package's requirements and
# never asks the registry which release satisfies one (pip 23.2.1, what `python3 -m venv` gives, resolves an
# extra such as qdrant-client's `httpx[http2]` against the newest release even in --require-hashes mode: a
# release published after the lock was made broke every fresh install). Every file is fetched by its pinned
# version and checked against its sha256, so a new release of anything cannot change what is installed.
	$(VENV)/bin/pip install -q --no-deps --require-hashes -r $(LOCK_FILE) $(PIP_QUIET)
# xmr itself, editable, from what the lock installed (no index): fails, rather than fetching, where pyproject.toml
# asks for something the lock lacks (this resolve, offline, also checks the extras pip check does not read).
# Built with the lock's setuptools and wheel (no build isolation).
	$(VENV)/bin/pip install -q --no-index --no-build-isolation -e '.[all,test]' $(PIP_QUIET) \
	  || { echo "error: $(LOCK_FILE) does not satisfy pyproject.toml: run \`make lock\`" >&2; exit 1; }
# An incomplete or inconsistent lock fails here, at install, not later at a user.
	$(VENV)/bin/pip check \
	  || { echo "error: the packages $(LOCK_FILE) installed conflict (above): run \`make lock\`" >&2; exit 1; }
endif
	touch $@

.PHONY: install demo test lint lock
install: $(VENV)/.installed

# The one command that refreshes the lock (run it on Linux x86_64 with CPython 3.11, the platform it is for).
# pip-tools runs from a throwaway venv: it is no dependency of xmr. Its self-referential extra (test ->
# xmr[package]) comes out as an unhashable `xmr @ file://...` line (pip-tools issue #2002): removed here.
lock:
	python3 -c 'import platform, sys; sys.exit(0 if sys.platform == "linux" and platform.machine() == "x86_64" and sys.version_info[:2] == (3, 11) else "error: make lock runs on Linux x86_64 with CPython 3.11, the platform $(LOCK_FILE) is for")'
	mkdir -p $(dir $(LOCK_FILE))
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	python3 -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install -q '$(PIP_TOOLS)' $(PIP_QUIET); \
	CUSTOM_COMPILE_COMMAND="make lock" "$$tmp/venv/bin/pip-compile" --quiet $(LOCK_UPGRADE) \
	  --extra all --extra test --build-deps-for editable --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links --output-file $(LOCK_FILE) pyproject.toml $(PIP_QUIET); \
	{ echo "# CI's lock file: every package that \`make install\` (and so .ci/run) installs for xmr[all,test], pinned"; \
	  echo "# with sha256 hashes, for Linux x86_64 and CPython 3.11 only. Users' \`pip install xmr\` keeps the ranges in"; \
	  echo "# pyproject.toml. Refresh with \`make lock\` (README \"Refreshing the lock file\"); do not edit by hand."; \
	  sed -e '/^# WARNING: pip install will require the following package to be hashed\.$$/d' \
	      -e '/^# Consider using a hashable URL like /d' -e '/^xmr @ file:/{N;d;}' $(LOCK_FILE); } > "$$tmp/lock"; \
	if grep -n ' @ ' "$$tmp/lock"; then echo "error: unhashable requirement left in the lock" >&2; exit 1; fi; \
	mv "$$tmp/lock" $(LOCK_FILE); \
	echo "$(LOCK_FILE): the self-reference above is removed; every other line is pinned and hashed"

demo: $(VENV)/.installed
	$(VENV)/bin/xmr demo

# ruff and mypy read their settings from pyproject.toml (mypy: the core strictly, the Qt layer and CLI by default).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check xmr_gui tests bench docs packaging
	$(VENV)/bin/ruff format --check xmr_gui tests bench docs packaging
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# pytest exit code 5 means "no tests collected": that is a failure here, never a pass.
test: lint
	rc=0; $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc
