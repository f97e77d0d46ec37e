# citeqa — `make run` and `make test` do everything on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DOCS   ?= examples
HOST   ?= 127.0.0.1
PORT   ?= 8000
SHARED ?= ../shared
CHROMIUM ?= /usr/bin/chromium

export CITEQA_DATA_DIR ?= data
export HF_HUB_OFFLINE := 1

.PHONY: install run serve ingest test soak bench lint browser eval eval-public clean

install: $(VENV)/.installed

# torch goes first and on its own: the pinned CPU build (an unpinned torch would pull
# a multi-GB CUDA build through sentence-transformers).
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

ingest: install
	$(BIN)/citeqa ingest $(DOCS)

run: ingest
	$(BIN)/citeqa serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check citeqa ingest api evals prompts tests benchmarks
	$(BIN)/mypy

# Debian's chromium, for the chat page's browser tests (Playwright drives it; it downloads
# no browser of its own). CITEQA_SKIP_BROWSER=1 skips both the install and those tests.
browser:
	@if [ -x $(CHROMIUM) ] || [ "$$CITEQA_SKIP_BROWSER" = 1 ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	elif command -v sudo >/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else echo "install Debian's chromium (or set CITEQA_SKIP_BROWSER=1)"; exit 1; fi

test: install lint browser
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory eval

# The long run of the load test: 8 clients query for 60 s while documents are added and
# deleted (make test runs the same test for 8 s). CI runs it after make test.
soak: install
	CITEQA_SOAK_SECONDS=60 $(BIN)/python -m pytest -q tests/api/test_concurrency.py

# Benchmarks (minutes; see BENCHMARKS.md). SIZES=1000,10000,100000 for the full run.
SIZES ?= 1000,10000
bench: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks.bench --sizes $(SIZES)

# The offline eval gates (thresholds in evals/thresholds.toml).
eval: install
	$(BIN)/citeqa eval evals/sets/examples.jsonl --docs examples --report reports/examples.md
	@if [ -d $(SHARED)/corpus ]; then \
	  $(BIN)/citeqa eval evals/sets/seed.jsonl --docs $(SHARED)/corpus --report reports/seed.md; \
	else echo "skipping the seed eval: $(SHARED)/corpus not found"; fi

# The public benchmarks (minutes; numbers go in the README).
eval-public: install
	$(BIN)/citeqa eval $(SHARED)/evalsets/squad2_dev_sample500/qa.jsonl \
	  --docs $(SHARED)/evalsets/squad2_dev_sample500/docs --report reports/squad2.md --no-gate
	$(BIN)/citeqa eval $(SHARED)/evalsets/realtimeqa_cnn_2022/qa.jsonl \
	  --docs $(SHARED)/evalsets/realtimeqa_cnn_2022/docs --report reports/realtimeqa.md --no-gate

clean:
	rm -rf $(VENV) data reports .pytest_cache .ruff_cache .mypy_cache
