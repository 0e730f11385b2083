# Two entry points (README "Quick start"): `make export` and `make test`.
# Both create .venv on first use and install the pinned set (constraints.txt);
# later runs reuse it until pyproject.toml or constraints.txt change.
#
# The venv is made with the first Python >= 3.10 found among python3.13 ...
# python3.10 and python3 (the pins are tested on 3.11); `make PYTHON=/path/to/python`
# chooses another.
ifndef PYTHON
PYTHON := $(shell for p in python3.13 python3.12 python3.11 python3.10 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null \
	&& { command -v $$p; break; }; done)
endif
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vmf-installed

.PHONY: setup export test lint lock summary

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.10 found (install one, or make PYTHON=/path/to/python3.11)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "error: $(PYTHON) is older than 3.10" >&2; exit 1; }
	@echo "setup: creating $(VENV) with $(PYTHON) ($$($(PYTHON) -c 'import platform; print(platform.python_version())'))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all]"
	@touch $@

# The demo model: VMF-560M trained on the motion dataset (train/demo/, docs/training.md).
DEMO := train/demo/vmf-560m-motion.pt

export: setup
	$(BIN)/vmf-export --weights $(DEMO) --target tflite

summary: setup
	$(BIN)/python -m vmf.model

test: setup
	$(BIN)/python -m pytest -q
	bash android_demo/jvm-test.sh

# What CI checks before the tests (.ci/run).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lock: setup
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu/torch==\1/' > constraints.txt.new
	@echo "review constraints.txt.new, keep the header of constraints.txt, then replace it"
