# The two commands of the README: `make run` (the default pipeline) and `make test` (the tests).
# Both create the virtual environments at the repository root when missing and install exact pins:
#   .venv         the pipeline, MACE (e3nn 0.4.4), tblite, analysis  (requirements.txt)
#   .venv-nequip  NequIP / Allegro (e3nn 0.6)                        (requirements-nequip.txt)
#   .venv-deepmd  DeePMD (deepmd-kit 3.2.0 built against torch 2.13)  (requirements-deepmd.txt + sdist build)
#   .venv-grace   GRACE (tensorpotential 0.6.2.1, tensorflow-cpu 2.20) (requirements-grace.txt + GRACE_NODEPS)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NEQUIP_VENV := .venv-nequip
NEQUIP_STAMP := $(NEQUIP_VENV)/.installed
DEEPMD_VENV := .venv-deepmd
DEEPMD_STAMP := $(DEEPMD_VENV)/.installed
# deepmd-kit's PyPI wheel carries PyTorch ops built for torch 2.11 (they refuse to load on 2.13): build it from the
# sdist against the venv's torch, PyTorch backend only, without MPI (the Python backend does not use it; ~1.5 min).
DEEPMD_BUILD := DP_ENABLE_TENSORFLOW=0 DP_ENABLE_PYTORCH=1 CMAKE_ARGS="-DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON"
GRACE_VENV := .venv-grace
GRACE_STAMP := $(GRACE_VENV)/.installed
# tensorpotential's metadata asks for tensorflow[and-cuda] on Linux and tf_keras for the 620 MB `tensorflow` wheel:
# both go in without their dependencies, on top of tensorflow-cpu (requirements-grace.txt), which provides the module.
GRACE_NODEPS := tf_keras==2.20.1 tensorpotential==0.6.2.1
SYSTEM_STAMP := .system-deps
CORES ?= 2
# Extra pip options, e.g. PIP_OPTS="--extra-index-url https://download.pytorch.org/whl/cpu" for a CPU torch.
PIP_OPTS ?=
# Debian packages used by optional parts: CP2K and Quantum ESPRESSO reference labels, GSL for
# diffpy.pdffit2 (X-ray PDF). Installed when running as root on Debian/Ubuntu; elsewhere the tests
# that need them skip with the reason.
APT_PACKAGES := cp2k quantum-espresso libgsl-dev

# .venv first; .venv-nequip, .venv-deepmd and .venv-grace last, so only nequip-train / nequip-compile, dp and
# gracemaker come from them.
export PATH := $(abspath $(BIN)):$(PATH):$(abspath $(NEQUIP_VENV)/bin):$(abspath $(DEEPMD_VENV)/bin):$(abspath $(GRACE_VENV)/bin)
# One thread per job: jobs run side by side on the cores Snakemake is given.
export OMP_NUM_THREADS ?= 1
export MPLBACKEND := Agg

.PHONY: install run lint test test-fast test-slurm report clean system-deps

$(SYSTEM_STAMP):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then echo "apt-get install$$missing"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	else echo "not root or no apt-get: $(APT_PACKAGES) not installed (CP2K, Quantum ESPRESSO tests and diffpy cross-checks will skip)"; fi
	touch $@

system-deps: $(SYSTEM_STAMP)

$(STAMP): requirements.txt pyproject.toml | $(SYSTEM_STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_OPTS) -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(NEQUIP_STAMP): requirements-nequip.txt pyproject.toml
	test -x $(NEQUIP_VENV)/bin/python || $(PYTHON) -m venv $(NEQUIP_VENV)
	$(NEQUIP_VENV)/bin/python -m pip install --quiet $(PIP_OPTS) -r requirements-nequip.txt
	$(NEQUIP_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(NEQUIP_STAMP)

$(DEEPMD_STAMP): requirements-deepmd.txt pyproject.toml
	test -x $(DEEPMD_VENV)/bin/python || $(PYTHON) -m venv $(DEEPMD_VENV)
	$(DEEPMD_VENV)/bin/python -m pip install --quiet $(PIP_OPTS) -r requirements-deepmd.txt
	PATH=$(abspath $(DEEPMD_VENV)/bin):$$PATH $(DEEPMD_BUILD) $(DEEPMD_VENV)/bin/python -m pip install --quiet $(PIP_OPTS) \
	  --no-build-isolation --no-deps --no-binary deepmd-kit deepmd-kit==3.2.0
	$(DEEPMD_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(DEEPMD_STAMP)

$(GRACE_STAMP): requirements-grace.txt pyproject.toml
	test -x $(GRACE_VENV)/bin/python || $(PYTHON) -m venv $(GRACE_VENV)
	$(GRACE_VENV)/bin/python -m pip install --quiet $(PIP_OPTS) -r requirements-grace.txt
	$(GRACE_VENV)/bin/python -m pip install --quiet $(PIP_OPTS) --no-deps $(GRACE_NODEPS)
	$(GRACE_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(GRACE_STAMP)

install: $(STAMP) $(NEQUIP_STAMP) $(DEEPMD_STAMP) $(GRACE_STAMP)

# The config of `make run` (e.g. make run CONFIG=config/tests/tiny.yaml), checked first: Snakemake
# reports a YAML syntax error in a --configfile without its file or line. The verdict
# (results/validate/verdict.txt) is printed last, also when a failing check stopped the run
# (validate.strict) or a job failed after it was written.
# It installs .venv and only the extra environments the config's models need (python -m amlip.config --environments).
CONFIG ?= config/config.yaml
run: $(STAMP)
	$(BIN)/python -m amlip.config $(CONFIG)
	@for env in $$($(BIN)/python -m amlip.config --environments $(CONFIG)); do $(MAKE) --no-print-directory .venv-$$env/.installed; done
	@status=0; $(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG) || status=$$?; \
	if [ $$status = 0 ]; then $(BIN)/snakemake --cores 1 --configfile $(CONFIG) --report report.html || status=$$?; \
	  echo "Report: $(abspath report.html) (figures and tables under $(abspath results))"; fi; \
	if [ -f results/validate/verdict.txt ]; then echo; echo "Verdict (results/validate/verdict.csv):"; cat results/validate/verdict.txt; \
	else echo "no verdict: the run stopped before results/validate/verdict.csv"; fi; \
	exit $$status

# Lint and format checks (ruff for Python, snakefmt for the Snakefile and rules/), pinned in requirements.txt.
LINT_PATHS := amlip scripts tests benchmarks
lint: install
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/snakefmt --check Snakefile rules

test: lint
	$(BIN)/python -m pytest -ra tests
	$(NEQUIP_VENV)/bin/python -m pytest -ra tests/test_nequip.py
	$(DEEPMD_VENV)/bin/python -m pytest -ra tests/test_deepmd.py
	$(GRACE_VENV)/bin/python -m pytest -ra tests/test_grace.py

# Unit tests only (no Snakemake runs, no end-to-end runs, no DFT codes): about a minute, for inner loops.
test-fast: install
	$(BIN)/python -m pytest -ra -m "not slow and not workflow" tests

# A real one-node SLURM cluster (root, Debian): the tiny config through profiles/slurm, sacct checks,
# kill-and-resume. CI runs it after `make test`.
test-slurm: install
	tests/slurm/run_slurm_ci.sh

# Reference labels, AIMD runs and trained models are write-protected (protected()): make them writable first.
clean:
	chmod -R u+w results 2>/dev/null || true
	rm -rf results logs .snakemake report.html
