# One entry point for learners, instructors and maintainers. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8888
NB ?=
# One thread count wherever notebook outputs are stored or validated: 1 vs 2 threads changes
# floating-point bits. The number lives in course_lib/repro.py (THREADS); a unit test keeps
# these exports equal to it.
export OMP_NUM_THREADS := 2
export MKL_NUM_THREADS := 2
export PYTHONHASHSEED := 0
# How long an idle OpenMP worker spins before it sleeps (libgomp; no effect on the numbers, only
# on speed). Bahdanau training step here, 2 threads, quiet machine / one other busy process:
# sleep at once (OMP_WAIT_POLICY=PASSIVE) 340 / 312 ms; 10,000 spins 178 / 569 ms; libgomp's
# default 300,000 spins 169 / 3,277 ms (spinning workers fight the other process for the cores).
export GOMP_SPINCOUNT := 10000
NBVAL := -p nbval --nbval --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg --nbval-cell-timeout=300

.PHONY: help venv lab test test-unit lint test-notebooks test-e2e notebooks exercises \
        grade bench-attention bench-models pretrained lock clean

help:
	@echo "make lab              set up .venv (first time) and start JupyterLab on the course"
	@echo "make test             set up .venv and run every test (unit, ruff, nbval, exercises, browser)"
	@echo "make notebooks        re-execute notebooks/ and solutions/ in place, cleanly"
	@echo "make exercises        regenerate exercises/ from solutions/"
	@echo "make grade NB=PATH    grade a learner's exercise notebook (table + grade-report.json)"
	@echo "make bench-attention  attention ops vs torch SDPA"
	@echo "make bench-models     training-speed and accuracy benchmarks"
	@echo "make pretrained       retrain the shipped G2P models from scratch"

# The environment: created from the lock when missing, rebuilt when the lock or pyproject changes.
venv: $(STAMP)
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

lab: $(STAMP)
	@echo "Starting JupyterLab; open the http://127.0.0.1:$(PORT)/lab?token=... URL printed below."
	$(VENV)/bin/jupyter-lab --no-browser --allow-root --ip=127.0.0.1 --port=$(PORT) \
	    --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks/01_bottleneck.ipynb

test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-notebooks
	$(MAKE) --no-print-directory test-e2e

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-unit: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/e2e -q

# Strict nbval: every stored output of the lessons and solutions must be reproduced.
test-notebooks: $(STAMP)
	$(PY) -m pytest $(NBVAL) notebooks solutions -q

test-e2e: $(STAMP)
	bash scripts/ensure_chromium.sh || echo "chromium unavailable: the browser tests will report themselves skipped (failed under CI=true)"
	$(PY) -m pytest tests/e2e -q

notebooks: $(STAMP)
	$(PY) scripts/execute_notebooks.py notebooks/*.ipynb solutions/*.ipynb

exercises: $(STAMP)
	$(PY) -m course_lib.exercises

grade: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make grade NB=exercises/03_softmax_weights.ipynb"; exit 2; }
	$(PY) -m course_lib.grade $(NB) --json grade-report.json

bench-attention: $(STAMP)
	$(PY) benchmarks/bench_attention.py

bench-models: $(STAMP)
	$(PY) benchmarks/bench_models.py

pretrained: $(STAMP)
	$(PY) scripts/train_pretrained.py

# Re-resolve the lock from requirements.in in a throwaway environment.
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/pip install --quiet -r requirements.in
	{ sed -n '1,2p' requirements.lock; build/lock-venv/bin/pip freeze --all \
	    | grep -v -E '^(pip|wheel)==' | sed 's/^torch==\(.*\)+cpu/torch==\1/' | sort -f; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf build/lock-venv

clean:
	rm -rf $(VENV) build tests/e2e/screenshots
