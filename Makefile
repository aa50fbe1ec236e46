# Two entry points for a fresh machine (see README "Quick start"): `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[all,test]' 2>&1 | { grep -v '^WARNING: Location' || true; }
	touch $@

.PHONY: install demo test lint
install: $(VENV)/.installed

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
