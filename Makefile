# Two commands do all the set-up: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PORT ?= 8501
VENV ?= .venv
PY := $(VENV)/bin/python
XTTS_WORKSPACE ?= $(CURDIR)/workspace
RUN_STAMP := $(VENV)/.stamp-run
TEST_STAMP := $(VENV)/.stamp-test
# pip prints one warning per package for this machine's local mirrors; keep the output readable.
PIP_QUIET := grep -v "is ignored: it is neither a file nor a directory" || true

.PHONY: run-remote run test test-fast test-slow venv bench soak gpu-check clean-venv browser

$(PY):
	python3 -m venv $(VENV)

# Reinstall only when a requirements file changed (the stamps are older than it).
$(RUN_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install -q --upgrade pip 2>&1 | $(PIP_QUIET)
	$(PY) -m pip install -q -r requirements.txt 2>&1 | $(PIP_QUIET)
	@$(PY) -c "import TTS, trainer, streamlit, torch, silero_vad, faster_whisper, pyloudnorm, uroman" && touch $@

$(TEST_STAMP): $(RUN_STAMP) requirements-test.txt
	$(PY) -m pip install -q -r requirements-test.txt 2>&1 | $(PIP_QUIET)
	@$(PY) -c "import pytest, hypothesis, playwright" && touch $@

# The end-to-end tests drive Debian's Chromium (never a browser download of Playwright's own); the dataset
# tests speak known sentences with Debian's espeak-ng.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v espeak-ng >/dev/null; then \
		echo "Installing Debian's chromium, chromium-driver and espeak-ng for the tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver espeak-ng >/dev/null; \
	fi

venv: $(RUN_STAMP)

run: $(RUN_STAMP)
	XTTS_WORKSPACE="$(XTTS_WORKSPACE)" $(PY) -m streamlit run streamlit_app.py \
		--server.address 127.0.0.1 --server.port $(PORT)

# Remote access is an explicit opt-in and always password-protected (see README "Remote access").
run-remote: $(RUN_STAMP)
	@test -n "$${XTTS_DASHBOARD_PASSWORD:-}" || { echo "Set XTTS_DASHBOARD_PASSWORD to open the dashboard to the network."; exit 2; }
	XTTS_WORKSPACE="$(XTTS_WORKSPACE)" $(PY) -m streamlit run streamlit_app.py \
		--server.address $${ADDRESS:-0.0.0.0} --server.port $(PORT)

test: $(TEST_STAMP) browser
	$(PY) -m pytest

# Everything except the multi-GB tests marked `slow`.
test-fast: $(TEST_STAMP)
	$(PY) -m pytest -m "not slow"

test-slow: $(TEST_STAMP) browser
	$(PY) -m pytest -m slow

bench: $(TEST_STAMP)
	for b in benchmarks/bench_*.py; do PYTHONPATH=. $(PY) $$b; done

# Kill-and-continue soak on the demo (about 15 minutes): no complete checkpoint is ever lost.
soak: $(TEST_STAMP)
	PYTHONPATH=. $(PY) benchmarks/soak_kill.py

# On a GPU machine, under 8 minutes, nothing downloaded: full-size fp16 training speed and memory, the demo
# through the launcher, 2-rank nccl (with 2 GPUs) and synthesis speed. Without a GPU it says so and exits 2.
gpu-check: $(TEST_STAMP)
	PYTHONPATH=. $(PY) benchmarks/gpu_check.py

clean-venv:
	rm -rf $(VENV)
