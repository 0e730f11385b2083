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

.PHONY: setup export test test-fast lint lock summary figures

# The torch build: pip takes the one its index serves for torch==<pin> (PyPI's Linux x86_64
# wheel is the CUDA build). For the CPU-only build, point this at PyTorch's CPU wheel index:
#   make TORCH_INDEX=<PyTorch CPU wheel index URL> setup
TORCH_INDEX ?=

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.10 found (install one, or make PYTHON=/path/to/python3.11)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "error: $(PYTHON) is older than 3.10" >&2; exit 1; }
	@echo "setup: creating $(VENV) with $(PYTHON) ($$($(PYTHON) -c 'import platform; print(platform.python_version())'))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if [ -n "$(TORCH_INDEX)" ]; then echo "setup: torch from $(TORCH_INDEX)"; \
		$(BIN)/python -m pip install --quiet -c constraints.txt torch --index-url "$(TORCH_INDEX)"; fi
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all]"
	@echo "setup: $$($(BIN)/python -c 'import torch; print("torch", torch.__version__, "CUDA" if torch.version.cuda else "CPU-only")')"
	@touch $@

# The demo model: VMF-560M trained on the motion dataset (train/demo/, docs/training.md).
DEMO := train/demo/vmf-560m-motion.pt

export: setup
	$(BIN)/vmf-export --weights $(DEMO) --target tflite

summary: setup
	$(BIN)/python -m vmf.model

# Re-measure the figure blocks of README.md and docs/*.md on this machine (docs/performance.md,
# "Where every figure comes from"): make figures ONLY="perf-main web-latency" FLAGS="--slow --dry-run".
figures: setup
	$(BIN)/python scripts/refresh_figures.py $(if $(ONLY),--only $(ONLY)) $(FLAGS)

# The browser tests (tests/web/) drive a system Chromium: ensure_browser.sh finds one or installs
# Debian's with apt-get; without one those tests skip with its reason and the rest still run.
test: setup
	@bash scripts/ensure_browser.sh >/dev/null || echo "test: no Chromium, the browser tests (tests/web/) will skip" >&2
	@# The page's pinned ONNX Runtime Web (web_demo/package-lock.json), for the web exports the tests make.
	@test -d web_demo/node_modules/onnxruntime-web || { echo "test: installing web_demo's pinned onnxruntime-web (npm ci)"; \
		(cd web_demo && npm ci --no-audit --no-fund --loglevel=error) || echo "test: npm ci failed: web exports will try npm pack" >&2; }
	$(BIN)/python -m pytest -q
	bash android_demo/jvm-test.sh
	@command -v node >/dev/null || { echo "error: the web core's tests need Node.js 18 or newer (node --test)" >&2; exit 1; }
	cd web_demo && node --test

# The inner loop: no real conversions, no multi-process or end-to-end runs (docs in CONTRIBUTING.md).
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not integration"

# What CI checks before the tests (.ci/run).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lock: setup
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu/torch==\1/' > constraints.txt.new
	@echo "review constraints.txt.new, keep the header of constraints.txt, then replace it"
