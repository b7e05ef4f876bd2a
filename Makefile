# The Dutch back-pain assistant. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
INSTALLED := $(VENV)/.installed
MODEL := models/backbot.tar.gz
RED_FLAG_MODEL := models/red_flag_classifier.joblib
RED_FLAG_INPUTS := data/knowledge/red_flags.yml tests/red_flag_cases.yml $(wildcard data/red_flags/*.yml) $(wildcard actions/redflags/*.py)
# Rasa training data (the knowledge files are read by the actions at run time and need no training).
# The FAQ (data/knowledge/faq/*.yml: answers and the ways patients ask them) is exported to Rasa
# training data in build/rasa/ before every validation and training.
FAQ_EXPORT := build/rasa/faq.yml
FAQ_INPUTS := $(wildcard data/knowledge/faq/*.yml) data/knowledge/answers.yml actions/answers/faq.py
TRAIN_DATA := data/nlu data/rules build/rasa
TRAIN_INPUTS := config.yml domain.yml actions/language.py $(FAQ_EXPORT) $(shell find data/nlu data/rules components -type f \( -name '*.yml' -o -name '*.py' \) 2>/dev/null)
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: help install check validate train ingest ask run prod shell test evaluate bench loadtest handoffs review purge desk-user lint clean lock

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(INSTALLED) ## Create the Python 3.10 virtualenv, install the pinned requirements, the chat widget and chromium
$(INSTALLED): requirements.txt scripts/bootstrap.sh web/package-lock.json
	@bash scripts/bootstrap.sh

check: $(INSTALLED) ## Check the answer, source, message, practice, red-flag and leaflet settings files
	@$(PY) -m actions.check

$(FAQ_EXPORT): $(INSTALLED) $(FAQ_INPUTS) $(shell find data/nlu -name '*.yml')
	@$(PY) -m actions.answers.faq export build/rasa

validate: check $(FAQ_EXPORT) ## Check the data files and Rasa's training data
	$(RASA) data validate --domain domain.yml --data $(TRAIN_DATA) --config config.yml --fail-on-warnings

train: $(MODEL) $(RED_FLAG_MODEL) ## Train the NLU model and the learned red-flag detector when their data changed
$(RED_FLAG_MODEL): $(INSTALLED) $(RED_FLAG_INPUTS)
	@mkdir -p models
	@$(PY) -m actions.redflags.learned train

$(MODEL): $(INSTALLED) $(TRAIN_INPUTS)
	@$(PY) -m actions.check
	@mkdir -p models results
	@start=$$(date +%s); \
	$(RASA) train --domain domain.yml --data $(TRAIN_DATA) --config config.yml --out models \
		--fixed-model-name backbot --quiet && \
	echo "$$(( $$(date +%s) - start ))" > results/train_seconds.txt
	@touch $(MODEL)

ingest: $(INSTALLED) ## Read the leaflet folders (data/knowledge/leaflets.yml) and write the search index
	@$(PY) -m actions.leaflets.cli ingest

ask: $(INSTALLED) ## What would the assistant answer? make ask Q="helpt een rugbrace?"
	@$(PY) -m actions.leaflets.cli ingest --if-changed >/dev/null
	@$(PY) -m actions.leaflets.cli ask "$(Q)"

run: train ## Start the action server, the Rasa server (channels, HTTP API with token) and the demo page on :8080
	@$(PY) -m actions.leaflets.cli ingest --if-changed
	@$(PY) scripts/servers.py run

prod: train ## Production profile: N Rasa instances + action servers behind nginx, PostgreSQL, Redis, supervisord
	@$(PY) -m actions.leaflets.cli ingest --if-changed
	@$(PY) scripts/prod.py run

shell: train ## Chat with the assistant in this terminal
	@$(PY) -m actions.leaflets.cli ingest --if-changed
	@$(PY) scripts/servers.py shell

test: validate train ## Run every test: pytest (logic, actions, leaflets, channels, HTTP, browser) and the test stories
	$(PY) -m actions.leaflets.cli ingest
	$(PY) -m pytest --durations=10
	$(RASA) test core --model $(MODEL) --stories tests/test_stories.yml --out results/stories \
		--fail-on-prediction-errors --no-plot

evaluate: train ## Acceptable answers per set (blind, follow-ups), held-out NLU, red flags, leaflet retrieval, redaction (blind)
	$(PY) scripts/evaluate_answers.py
	$(PY) scripts/evaluate.py
	$(PY) scripts/evaluate_red_flags.py
	$(PY) scripts/evaluate_retrieval.py --nlu
	$(PY) scripts/evaluate_retrieval.py
	$(PY) scripts/evaluate_redaction.py

bench: train ## Latency, throughput, start, memory (next to Rasa's starter bot, and over make prod with 2 instances), red flags, leaflet search, redaction, insight
	$(PY) scripts/bench_retrieval.py
	$(PY) scripts/bench_privacy.py
	$(PY) scripts/bench.py

loadtest: train ## 200 conversations x 10 turns at once over nginx, 1 and 2 instances: latency, msg/s, nothing lost
	$(PY) scripts/loadtest.py

handoffs: $(INSTALLED) ## List the conversations handed off to the front desk (newest first)
	@$(PY) -m actions.handoff

# The tracker store is read from endpoints.yml as the Rasa server reads it; these are its defaults.
PURGE_ENV := BACKBOT_TRACKER_DB=$${BACKBOT_TRACKER_DB:-run/conversations.db} \
	BACKBOT_HANDOFF_DB=$${BACKBOT_HANDOFF_DB:-run/handoffs.db} BACKBOT_REVIEW_DB=$${BACKBOT_REVIEW_DB:-run/red_flag_review.db} \
	BACKBOT_ACTION_URL=$${BACKBOT_ACTION_URL:-http://localhost:5055/webhook} BACKBOT_ACTION_TOKEN=$${BACKBOT_ACTION_TOKEN:-unused}
purge: $(INSTALLED) ## Delete conversations older than DAYS days: make purge DAYS=30 (BACKBOT_RETENTION_DAYS does it nightly)
	@test -n "$(DAYS)" || { echo "Give the number of days: make purge DAYS=30"; exit 2; }
	@$(PURGE_ENV) $(PY) -m actions.privacy.retention purge --days "$(DAYS)"

desk-user: $(INSTALLED) ## Add a front-desk account: make desk-user NAME=anna ROLE=desk (asks for the password)
	@test -n "$(NAME)" || { echo "Give the name: make desk-user NAME=anna ROLE=desk|admin"; exit 2; }
	@$(PY) -m web.desk.accounts add "$(NAME)" --role "$${ROLE:-desk}"

review: $(INSTALLED) ## List where the two red-flag detectors disagreed (for a clinician's review)
	@$(PY) -m actions.redflags.review

lint: $(INSTALLED) ## Ruff on the Python code
	$(VENV)/bin/ruff check actions components channels scripts tests web
	$(VENV)/bin/ruff format --check actions components channels scripts tests web

clean: ## Remove the virtualenv, trained models and run output
	rm -rf $(VENV) models/*.tar.gz results run .pytest_cache .ruff_cache

lock: $(INSTALLED) ## Rewrite requirements.txt from the installed environment (after changing a pin)
	@{ sed -n '/^#/p' requirements.txt; $(PY) -m pip freeze --all | grep -v '^pip=='; } > requirements.tmp && mv requirements.tmp requirements.txt
