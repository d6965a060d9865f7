# Frontline: `make run` starts the assistant, `make test` runs everything CI runs.
# Both work on a fresh machine with Python 3.10 and nothing else installed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.10 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SPACY_MODEL := build/spacy/frontline_en
MODEL := models/frontline.tar.gz
NLU_MIN_F1 ?= 0.85

# Runtime configuration (see README "Configuration"); override from the environment.
export SANDBOX_URL ?= http://127.0.0.1:5080
export ACTION_ENDPOINT_URL ?= http://127.0.0.1:5055/webhook
export TRACKER_STORE_URL ?= sqlite:///var/tracker.db
export REDIS_URL ?=
export SLACK_BOT_TOKEN ?=
export SLACK_SIGNING_SECRET ?=
export SLACK_CHANNEL ?=
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1

TRAIN_INPUTS := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null) \
	$(SPACY_MODEL)/meta.json


.PHONY: help venv spacy train run browser-deps lint validate test-unit test-stories test-nlu test-e2e \
	test clean

help:
	@echo "make run    start the sandbox services, action server and Rasa server"
	@echo "make test   everything CI runs (lint, data validation, unit, stories, NLU, e2e)"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.in requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 10), \
		"Rasa 3.6 needs Python 3.10; set PYTHON=/path/to/python3.10"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.in -c requirements.lock
	touch $@

spacy: $(SPACY_MODEL)/meta.json

$(SPACY_MODEL)/meta.json: frontline/nlu/spacy_pipeline.py frontline/patterns.py | venv
	$(BIN)/python -m frontline.nlu.spacy_pipeline --output $(SPACY_MODEL)

# Trains only when the data, domain, config or spaCy patterns changed.
train: $(MODEL)

$(MODEL): $(TRAIN_INPUTS) | venv
	$(BIN)/rasa train --fixed-model-name frontline --out models --quiet

# Debian's Chromium and its driver, for the browser tests (installed when missing and
# apt-get can be used; elsewhere install them by hand and the tests find them on PATH).
browser-deps:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "Install chromium and chromedriver for the browser tests"; fi

run: venv spacy train
	@bash scripts/run_stack.sh

lint: venv
	$(BIN)/ruff check actions frontline sandbox tests scripts bench
	$(BIN)/black --check --quiet actions frontline sandbox tests scripts bench

validate: venv
	$(BIN)/python -m frontline.policy_check
	$(BIN)/rasa data validate --quiet

test-unit: venv spacy
	$(BIN)/python -m pytest -q -m "not e2e" tests

test-stories: train
	$(BIN)/rasa test core --model $(MODEL) --stories tests/stories \
		--fail-on-prediction-errors --out results/core --quiet

test-nlu: train
	$(BIN)/rasa test nlu --model $(MODEL) --nlu tests/nlu/holdout.yml --out results/nlu --quiet
	$(BIN)/python -m frontline.tools.nlu_report results/nlu/intent_report.json --min-f1 $(NLU_MIN_F1)

test-e2e: train browser-deps
	$(BIN)/python -m pytest -q -m e2e tests

test: lint validate test-unit test-stories test-nlu test-e2e

clean:
	rm -rf build models results .rasa var
