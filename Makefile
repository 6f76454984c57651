# One-command setup, demo, tests. CPU machines take the local CPU wheel of torch (an unpinned torch pulls a
# multi-GB CUDA build); override with `make TORCH=torch==X.Y` elsewhere.
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The main job on the embedded default: every editing baseline on the editing suite, then the leaderboard
# (written under results/, so the committed leaderboards/edit.md with the UniFusion rows stays as it is).
demo: install
	$(BIN)/harness eval --task edit --model identity
	$(BIN)/harness eval --task edit --model oracle
	$(BIN)/harness eval --task edit --model noise
	$(BIN)/harness leaderboard edit --to results/leaderboard-edit.md
	cat results/leaderboard-edit.md

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m pytest -q tests/benchmarks --benchmark-enable

clean:
	rm -rf $(VENV) results .pytest_cache .benchmarks
