# One-command set-up: every target creates .venv on first use.
#   make lab     JupyterLab on the whole course, opening START_HERE.md (the embedded data work offline)
#   make test    the whole test suite (installs bubblewrap and Chromium first where it can: tools/system-deps.sh)
#   make course  rebuild exercises/ and solutions/ from course/source and render the lectures
#   make bench   speed comparisons against the plain PyTorch way
#   make book    the course as a website in _build/book/ (the lectures' class-scale runs; [REPO=https://github.com/ORG/REPO])
#   make publish EDITION=../students REPO=https://github.com/ORG/REPO ASSIGNMENTS=00-warmup [SOLUTIONS=...] [BOOK=1]
#                the student edition (course/README.md, "Releasing to students")
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build here; GPU users set e.g. TORCH_SPEC="torch==2.13.0" with their CUDA index configured.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
PORT ?= 8888
# the page `make lab` opens; JupyterLab's root is the repository, so lectures/ and exercises/ are both in reach
LAB_OPEN ?= START_HERE.md

.PHONY: setup lab test test-fast bench book course publish clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev]" -c requirements/constraints.txt
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root,) \
		--ServerApp.root_dir="$(CURDIR)" --LabApp.default_url="/lab/tree/$(LAB_OPEN)" \
		--LabApp.app_settings_dir="$(CURDIR)/tools/lab-settings" $(LAB_ARGS)

# bubblewrap (grading sandbox) and Chromium (browser test): installed where this user can without a
# password, else those tests are skipped with the command that enables them (tests/conftest.py)
# Three runs: the quick tests one worker per core (pytest-xdist, an idle worker takes tests from a busy one); the
# slow ones one file per worker (the grading pipeline keeps one busy while the browser, Colab and sandbox tests, which
# wait on servers and installs, share the other); then the `timed` ones (the lectures at the class scale, checked
# against their time budgets) in one process, with the machine to themselves.
test: $(STAMP)
	@tools/system-deps.sh
	@status=0; $(BIN)/python -m pytest -m "not slow" -n auto --dist worksteal || status=$$?; \
	$(BIN)/python -m pytest -m "slow and not timed" -n auto --dist loadfile || status=$$?; \
	$(BIN)/python -m pytest -m "slow and timed" || status=$$?; exit $$status

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n auto --dist worksteal

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# the lectures' runs from _build/executed/ where current (the lecture tests leave them there), else run here
book: $(STAMP)
	$(BIN)/python -m book $(if $(REPO),--repo "$(REPO)",)

# exercises/ and solutions/ from course/source through nbgrader, then the lectures executed at the
# smoke scale into rendered/ (course/README.md)
course: $(STAMP)
	cd course && PATH="$(CURDIR)/$(BIN):$$PATH" "$(CURDIR)/$(BIN)/python" -m grader build

publish: $(STAMP)
	@test -n "$(EDITION)" -a -n "$(REPO)" -a -n "$(ASSIGNMENTS)" || \
		{ echo "usage: make publish EDITION=DIR REPO=URL ASSIGNMENTS=A[,B] [SOLUTIONS=A[,B]]"; exit 2; }
	cd course && PATH="$(CURDIR)/$(BIN):$$PATH" "$(CURDIR)/$(BIN)/python" -m grader publish "$(abspath $(EDITION))" \
		--repo "$(REPO)" --assignments "$(ASSIGNMENTS)" $(if $(SOLUTIONS),--solutions "$(SOLUTIONS)",) $(if $(BOOK),--book,)

clean:
	rm -rf $(VENV) .pytest_cache rendered _build
