# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FMNIST_DIR := /usr/share/datasets/fashion-mnist
PYTEST_ARGS ?= -n 2

.PHONY: demo test test-oldest-lightning lint install data bench-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Real Fashion-MNIST comes from Debian's package; installed when missing and the machine allows it.
data:
	@if [ ! -d $(FMNIST_DIR) ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian package dataset-fashion-mnist"; \
		(apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1)) || \
		echo "could not install dataset-fashion-mnist: tests that need it will skip"; \
	fi

# Benchmark peers only (never needed by the tests): pycddlib builds against Debian's libcdd and GMP.
bench-deps: $(STAMP)
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get install -y -q libcdd-dev libgmp-dev >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libcdd-dev libgmp-dev >/dev/null 2>&1) || true; \
	fi
	$(BIN)/python -m pip install --quiet 'pycddlib>=3,<4' || \
		echo "could not build pycddlib (needs libcdd-dev and libgmp-dev): benchmarks/faces.py skips that peer"

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) data lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The lower end of the supported Lightning range (setup.cfg): both packages at 2.4.0 in front of the installed torch,
# the lifecycle and compatibility tests against them (not part of `make test`: it downloads two wheels).
OLDEST_LIGHTNING := .oldest-lightning
test-oldest-lightning: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(OLDEST_LIGHTNING) 'pytorch-lightning==2.4.0' 'lightning==2.4.0'
	PYTHONPATH=$(OLDEST_LIGHTNING) $(BIN)/python -m pytest -p no:cacheprovider tests/callbacks/test_lifecycle.py tests/test_compat.py

demo: $(STAMP)
	WANDB_MODE=$${WANDB_MODE:-offline} $(BIN)/lightning-poly fit --config examples/configs/demo.yaml
	WANDB_MODE=$${WANDB_MODE:-offline} $(BIN)/lightning-poly fit --config examples/configs/demo_covers.yaml

clean:
	rm -rf runs lightning_logs wandb .pytest_cache $(OLDEST_LIGHTNING)
