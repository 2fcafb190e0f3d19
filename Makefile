# GoFlow — every task a developer or CI runs goes through these targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install test lint format bench local clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# GoFlow on this machine: moto AWS from template.yaml, in-process Lambda, API on 127.0.0.1:8080.
local: $(STAMP)
	$(PY) -m goflow.cli local

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache

# SAM: the CLI lives in its own .sam-venv; build targets for `sam build` are in build.mk.
include build.mk

.PHONY: validate build

validate: $(SAM_STAMP)
	$(SAM) validate --lint
	$(SAM_VENV)/bin/cfn-lint template.yaml

build: $(SAM_STAMP)
	$(SAM) build
