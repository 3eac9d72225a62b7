# The two commands of the README: `make demo` and `make test` (plus `make lab`).
# Each one creates .venv if needed and installs everything (scripts/bootstrap.sh); re-running is cheap.
PORT ?= 8501
HOST ?= 127.0.0.1
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# what `make demo` queues in the background (DEMO_QUEUE=--dry-run lists the queue instead; DEMO_QUEUE= runs none)
DEMO_QUEUE ?= --background

export VENV

.PHONY: setup demo test lab prepare benchmarks paper-env clean help

help:
	@echo "make demo   - set up and serve the dashboard on http://$(HOST):$(PORT) at once, while the default models,"
	@echo "              the paper builds and model training run in the background (Home shows their progress)"
	@echo "make test   - set up and run the whole test suite (unit, notebooks, dashboard, browser)"
	@echo "make lab    - set up and open JupyterLab on notebooks/"
	@echo "make benchmarks - run the scripts in benchmarks/"
	@echo "make paper-env - a separate environment ($(PAPER_VENV)) with vLLM for --engine vllm (GPU machines)"

setup:
	@bash scripts/bootstrap.sh

prepare: setup
	@$(BIN)/workbench --profile default models prepare

# The demo queue (quick smoke-size builds, then `models prepare --all`, then the full builds) starts as a background
# job and returns at once; the dashboard serves meanwhile (models are converted or trained by whichever item or
# first use needs them first). Re-running skips what is built.
demo: setup
	$(if $(strip $(DEMO_QUEUE)),$(BIN)/workbench --profile default models prepare --demo $(DEMO_QUEUE),)
	$(BIN)/streamlit run dashboard/app.py --server.address $(HOST) --server.port $(PORT)

test: setup
	$(BIN)/python -m pytest -ra --durations=15 $(PYTEST_ARGS)

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks --LabApp.default_url=/lab/tree/index.py --ServerApp.ip=$(HOST) $(if $(filter 0,$(shell id -u)),--allow-root,)

benchmarks: prepare
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# vLLM pins its own torch (and transformers), so it gets its own environment; the main one and CI never need it.
# vLLM's torch/transformers/tokenizers/hub stay; the workbench's other requirements and the package go on top.
PAPER_VENV ?= .venv-vllm
paper-env:
	python3 -m venv $(PAPER_VENV)
	$(PAPER_VENV)/bin/python -m pip install -q vllm
	grep -vE '^(torch|transformers|tokenizers|huggingface-hub)==' requirements.txt > $(PAPER_VENV)/requirements-rest.txt
	$(PAPER_VENV)/bin/python -m pip install -q -r $(PAPER_VENV)/requirements-rest.txt
	$(PAPER_VENV)/bin/python -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PAPER_VENV)/bin/python -m pip install -q --no-deps -e .
	@echo "vLLM environment ready: $(PAPER_VENV)/bin/workbench --engine vllm ..."

clean:
	rm -rf $(VENV) .pytest_cache
