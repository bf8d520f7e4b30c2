# The two commands of the README: `make run` (the default pipeline) and `make test` (the tests).
# Both create .venv at the repository root when it is missing and install the exact pins.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
# Extra pip options, e.g. PIP_OPTS="--extra-index-url https://download.pytorch.org/whl/cpu" for a CPU torch.
PIP_OPTS ?=

export PATH := $(abspath $(BIN)):$(PATH)
# One thread per job: jobs run side by side on the cores Snakemake is given.
export OMP_NUM_THREADS ?= 1
export MPLBACKEND := Agg

.PHONY: install run test report clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_OPTS) -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/snakemake --cores $(CORES) --configfile config/config.yaml
	$(BIN)/snakemake --cores 1 --configfile config/config.yaml --report report.html
	@echo "Report: $(abspath report.html) (figures and tables under $(abspath results/report))"

test: install
	$(BIN)/python -m pytest -ra tests

clean:
	rm -rf results logs .snakemake report.html
