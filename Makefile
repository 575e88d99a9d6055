# One entry point for learners, instructors and maintainers. `make help` lists the targets.
SHELL := /bin/bash
# The interpreter .venv is built with: python3.11, else python3 if it is 3.11 (scripts/find_python.sh
# stops with advice otherwise). Override: make lab PYTHON=/path/to/python3.11
PYTHON ?=
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MATHJAX_STAMP := book/node_modules/.package-lock.json
PORT ?= 8888
# The learner's own copies of the lessons and exercises (git-ignored; course_lib/workspace.py)
WORK := work
NB ?= $(WORK)/exercises
# torch comes from PyTorch's CPU index: on Linux, PyPI's torch of the same version is the CUDA
# build (several GB; README, Troubleshooting, says how to opt in). Offline, pip gives up on the
# index after one retry (about 2 s) and takes the wheel from a find-links folder, if pip.conf
# names one. The lock's other packages come from PyPI as usual.
export TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PIN = $(shell grep -m1 '^torch==' requirements.lock)
TORCH_INSTALL = -m pip install --quiet --no-deps --retries 1 --index-url $(TORCH_INDEX) $(TORCH_PIN)
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
# `make test` runs every stage, even after a failure, and reports each (scripts/run_stages.py).
# Three lanes side by side (TEST_LANES; stages in a lane run one after the other). Fresh clone,
# 2 cores, 2026-12-05: unit 461 s then e2e 446 | nbval 396 then avx2 nbval 347 | lint, wheel
# 351, site 240: 16.4 min in all (13.1 min on 2026-12-04, a quieter host). Tried and dropped:
# e2e after the wheel, site after unit: 16.2 min, but e2e overlapped both nbval stages and its
# Run All of lesson 05 took 299 s (130 s here), half its limit; a queue of three stages at once,
# longest first, browser tests favoured (the others under nice): e2e 761-810 s, 13.9-14.6 min
# on the quieter host. While one stage waits on pip or a browser, another computes. Every
# process gets one torch thread (TEST_THREADS): two stages' OpenMP threads spinning on two
# cores wait for each other (nbval-and-grading notes: 3-5x slower per step). SERIAL=1 runs the
# lanes one after the other.
TEST_LANES := test-unit,test-e2e test-notebooks,test-portability lint,test-wheel,test-site
TEST_THREADS ?= 1
# Seconds a notebook cell may run under nbval: the longest training cell takes about 70 s on an
# idle 2-core machine, and several times that on a busy or slower one.
CELL_TIMEOUT ?= 600
# Two notebooks at a time (xdist; loadfile keeps a notebook's cells in one kernel), one torch
# thread each: the stored outputs were made with 2 threads (make notebooks), so both nbval stages
# also show that they do not depend on the thread count.
NBVAL_JOBS ?= 2
NBVAL := -p nbval --nbval --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg \
    --nbval-cell-timeout=$(CELL_TIMEOUT) -n $(NBVAL_JOBS) --dist loadfile

.PHONY: help venv lab test test-tools test-unit lint test-notebooks test-portability test-wheel \
        test-e2e test-site site notebooks exercises \
        grade grade-class bench-attention bench-models pretrained sweep-scores sweep-grader lock \
        clean

help:
	@echo "make lab              set up .venv (first time), copy new lessons and exercises into"
	@echo "                      work/ (your own copies; nothing there is overwritten), start JupyterLab on it"
	@echo "make venv             set up .venv from requirements.lock (PYTHON=... picks the interpreter)"
	@echo "make test             run every stage below (three lanes side by side; SERIAL=1: one by one),"
	@echo "                      report each, fail at the end if any failed:"
	@echo "  make test-tools     install what the stages need (bubblewrap, Chromium, MathJax)"
	@echo "  make lint           ruff check and ruff format --check"
	@echo "  make test-unit      unit tests (tests/, without the wheel and browser tests)"
	@echo "  make test-notebooks strict nbval over notebooks/ and solutions/"
	@echo "  make test-portability the same with a CPU without AVX-512 (CPU=avx2; CPU=default: none)"
	@echo "  make test-wheel     build the wheel, install it in a throwaway venv, use it (1-2 min)"
	@echo "  make test-e2e       browser tests: JupyterLab in headless Chromium"
	@echo "  make test-site      build the website, then check every page in headless Chromium"
	@echo "make site             build the course as a static website in build/site/ (stored outputs,"
	@echo "                      nothing executed; open build/site/index.html)"
	@echo "make notebooks        re-execute notebooks/ and solutions/ in place, cleanly"
	@echo "make exercises        regenerate exercises/ from solutions/"
	@echo "make grade            grade your exercises in work/exercises (NB=PATH: one notebook or folder)"
	@echo "make grade-class DIR=submissions  grade a class: class-report.html (+ .json), gradebook"
	@echo "                      CSV (CSV_FORMAT=course|canvas|moodle), feedback/ pages per learner"
	@echo "make bench-attention  attention ops vs torch SDPA"
	@echo "make bench-models     training-speed and accuracy benchmarks"
	@echo "make pretrained       retrain the shipped G2P models from scratch"
	@echo "make sweep-scores     rerun lessons 02 and 06's score comparisons over eight seeds (about 15 min)"
	@echo "make sweep-grader     judge every solution part as the grader does over many seeds (SEEDS=500,"
	@echo "                      native and avx2; every count should be 0)"
	@echo "make lock             re-resolve requirements.lock from requirements.in"
	@echo "make clean            remove .venv, build/, book/node_modules and browser-test screenshots"

# The environment: created from the lock when missing, rebuilt when the lock or pyproject changes.
venv: $(STAMP)
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || { python="$$(bash scripts/find_python.sh "$(PYTHON)")" && "$$python" -m venv $(VENV); }
	$(PY) $(TORCH_INSTALL)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# JupyterLab opens work/, the learner's copies; the course's tracked files are never edited.
# COURSE_THREADS=auto: the learner's kernels choose torch's thread count from the cores free at
# each training run (course_lib/repro.py), instead of the fixed count the stored outputs use.
lab: $(STAMP)
	$(PY) -m course_lib.workspace --into $(WORK)
	@echo "Starting JupyterLab on $(WORK)/; open the http://127.0.0.1:$(PORT)/lab?token=... URL printed below."
	COURSE_THREADS=auto $(VENV)/bin/jupyter-lab --no-browser --allow-root --ip=127.0.0.1 --port=$(PORT) \
	    --ServerApp.root_dir=$(CURDIR)/$(WORK) --LabApp.default_url=/lab/tree/notebooks/01_bottleneck.ipynb

test: $(STAMP) test-tools
	@MAKE="$(MAKE)" OMP_NUM_THREADS=$(TEST_THREADS) MKL_NUM_THREADS=$(TEST_THREADS) \
	    $(PY) scripts/run_stages.py $(if $(SERIAL),--serial) $(TEST_LANES)

# What the stages install, fetched once before the lanes start (two lanes must not run apt at
# once): bubblewrap and Chromium from Debian in one apt call, MathJax from npm.
test-tools: $(MATHJAX_STAMP)
	bash scripts/ensure_tool.sh /usr/bin/bwrap bubblewrap && bash scripts/ensure_chromium.sh \
	    || echo "bubblewrap or chromium unavailable: the stages that need them say so"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The grader's tests need bubblewrap for its sandbox; without it they test the weaker fallback
# and skip the sandbox-only checks (failed under CI=true).
test-unit: $(STAMP)
	bash scripts/ensure_tool.sh /usr/bin/bwrap bubblewrap || echo "bubblewrap unavailable: the grader's sandbox tests will report themselves skipped (failed under CI=true)"
	$(PY) -m pytest tests --ignore=tests/e2e --ignore=tests/wheel -q

# course_lib as an ordinary package (tests/wheel/test_wheel.py): a throwaway venv outside the repo.
test-wheel: $(STAMP)
	$(PY) -m pytest tests/wheel -q

# Strict nbval: every stored output of the lessons and solutions must be reproduced.
test-notebooks: $(STAMP)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest $(NBVAL) notebooks solutions -q

# The same check with the kernels torch runs on another processor: avx2 for a CPU without
# AVX-512 (most laptops, many CI runners), default for one without vector instructions (the
# nearest stand-in here for an ARM laptop). Stored outputs must hold on every one of them.
CPU ?= avx2
test-portability: $(STAMP)
	ATEN_CPU_CAPABILITY=$(CPU) OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	    $(PY) -m pytest $(NBVAL) notebooks solutions -q

test-e2e: $(STAMP) $(MATHJAX_STAMP)
	bash scripts/ensure_chromium.sh || echo "chromium unavailable: the browser tests will report themselves skipped (failed under CI=true)"
	$(PY) -m pytest tests/e2e -q --ignore=tests/e2e/test_site.py

# The course as a website (README, "The course as a website"): Sphinx + MyST-NB + the book theme
# from the lock, MathJax from npm (book/package-lock.json). Every Sphinx warning, broken internal
# link or missing image fails the build (scripts/build_site.py).
site: $(STAMP) $(MATHJAX_STAMP)
	$(PY) scripts/build_site.py

$(MATHJAX_STAMP): book/package.json book/package-lock.json
	@command -v npm >/dev/null || { echo "make site needs npm (Node.js) to fetch MathJax: sudo apt-get install -y npm"; exit 2; }
	npm ci --prefix book --no-audit --no-fund --ignore-scripts --loglevel=error

test-site: site
	bash scripts/ensure_chromium.sh || echo "chromium unavailable: the site's browser tests will report themselves skipped (failed under CI=true)"
	$(PY) -m pytest tests/e2e/test_site.py -q

notebooks: $(STAMP)
	$(PY) scripts/execute_notebooks.py notebooks/*.ipynb solutions/*.ipynb

exercises: $(STAMP)
	$(PY) -m course_lib.exercises

# Grades the learner's copies (work/exercises by default) against the pristine release, exercises/.
grade: $(STAMP)
	@test -e "$(NB)" || { echo "nothing to grade at $(NB): run make lab first, or make grade NB=work/exercises/03_softmax_weights.ipynb"; exit 2; }
	$(PY) -m course_lib.grade $(NB) --release exercises --json grade-report.json

# An instructor's run over a whole class: the class report, a gradebook, one feedback page each.
CSV_FORMAT ?= course
grade-class: $(STAMP)
	@test -d "$(DIR)" || { echo "make grade-class DIR=folder-of-submissions (nbgrader's submitted/ works as is)"; exit 2; }
	$(PY) -m course_lib.grade $(DIR) --release exercises --jobs 2 --json class-grades.json \
		--csv-format $(CSV_FORMAT) --report class-report.html --feedback feedback

# Both benchmarks measure with this CPU's kernels and with AVX2's (a laptop without AVX-512);
# bench-models also once more beside a CPU-bound process (--load 1), threads chosen as a
# learner's run chooses them.
bench-attention: $(STAMP)
	$(PY) benchmarks/bench_attention.py

bench-models: $(STAMP)
	$(PY) benchmarks/bench_models.py --cpu native avx2 --load 1

pretrained: $(STAMP)
	$(PY) scripts/train_pretrained.py

# Lessons 02 and 06 show the score comparison over several seeds from course_lib/measured/.
sweep-scores: $(STAMP)
	$(PY) scripts/sweep_scores.py --jobs 2 --threads 1

# Grading draws new inputs each run: how often would a right answer fail? (SEEDS per part)
SEEDS ?= 500
sweep-grader: $(STAMP)
	$(PY) scripts/sweep_grader.py --seeds $(SEEDS)
	ATEN_CPU_CAPABILITY=avx2 $(PY) scripts/sweep_grader.py --seeds $(SEEDS)

# Re-resolve the lock from requirements.in in a throwaway environment.
lock:
	rm -rf build/lock-venv && python="$$(bash scripts/find_python.sh "$(PYTHON)")" && "$$python" -m venv build/lock-venv
	build/lock-venv/bin/python $(TORCH_INSTALL)
	build/lock-venv/bin/pip install --quiet -r requirements.in
	{ sed -n '1,2p' requirements.lock; build/lock-venv/bin/pip freeze --all \
	    | grep -v -E '^(pip|wheel)==' | sed 's/^torch==\(.*\)+cpu/torch==\1/' | sort -f; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf build/lock-venv

clean:
	rm -rf $(VENV) build book/node_modules tests/e2e/screenshots
