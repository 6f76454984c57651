# One-command setup, demo, tests. CPU machines take the local CPU wheel of torch (an unpinned torch pulls a
# multi-GB CUDA build); override with `make TORCH=torch==X.Y` elsewhere.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# System tools (Debian/Ubuntu package = command): espeak-ng speaks the embedded retrieval suites; chromium runs
# the HTML leaderboard test.
DEMO_TOOLS := espeak-ng
TEST_TOOLS := espeak-ng chromium

.PHONY: install demo test lint bench fuzz clean system-tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[models,dev]"
	touch $(STAMP)

install: $(STAMP)

# Installs the missing tools with apt-get when run as root; otherwise prints the one line to run and stops.
system-tools:
	@missing=""; for tool in $(TOOLS); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing system tools:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing >/dev/null; \
	  else \
	    echo "error: missing system tools:$$missing. Run this once, then retry:" >&2; \
	    echo "  sudo apt-get install -y --no-install-recommends$$missing" >&2; \
	    exit 2; \
	  fi; \
	fi

# The main job on the embedded editing suite (edit/scenes + edit/photos, 300 samples): the UniFusion reference
# that `harness eval --task edit` runs by default (LAP), the leaderboard's reference row (UniFusion's last-layer
# conditioning) and the three baselines, then the leaderboard: printed and written under results/, so the
# committed leaderboards/edit.md stays as it is.
demo: install
	@$(MAKE) --no-print-directory system-tools TOOLS="$(DEMO_TOOLS)"
	$(BIN)/harness eval --task edit
	$(BIN)/harness eval --task edit --model unifusion-last_layer
	$(BIN)/harness eval --task edit --model identity
	$(BIN)/harness eval --task edit --model oracle
	$(BIN)/harness eval --task edit --model noise
	@# two-reference editing (group edit-multi), never trained on: the paper's zero-shot claim
	$(BIN)/harness eval --task edit/compose --model unifusion-lap
	$(BIN)/harness eval --task edit/compose --model identity
	$(BIN)/harness eval --task edit/compose --model oracle --model_args task=edit-multi
	$(BIN)/harness eval --task edit/compose --model noise
	$(BIN)/harness leaderboard edit --to results/leaderboard-edit.md

# Lint and format checks first (ruff, configured in pyproject.toml), then the whole suite.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	@$(MAKE) --no-print-directory system-tools TOOLS="$(TEST_TOOLS)"
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m pytest -q tests/benchmarks --benchmark-enable

# Hypothesis fuzzing of every loader and of answer extraction (13k examples; not part of `make test`).
fuzz: install
	$(BIN)/python -m pytest -q --run-fuzz tests/test_fuzz.py

clean:
	rm -rf $(VENV) results .pytest_cache .benchmarks
