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

# pytest exit code 5 means "no tests collected": that is a failure here, never a pass.
test: $(VENV)/.installed
	$(VENV)/bin/lint-imports
	rc=0; $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc
