# Two entry points (README "Quick start"): `make export` and `make test`.
# Both create .venv on first use and install the pinned set (constraints.txt);
# later runs reuse it until pyproject.toml or constraints.txt change.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vmf-installed

.PHONY: setup export test lock summary

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=...)" >&2; exit 1; }
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

lock: setup
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu/torch==\1/' > constraints.txt.new
	@echo "review constraints.txt.new, keep the header of constraints.txt, then replace it"
