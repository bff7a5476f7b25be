# The two commands of the README: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin

.PHONY: test demo lint typecheck pytest bench clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (PYTHON=$(PYTHON))")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamps make the second run fast: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	@touch $@ $(VENV)/.installed

lint: $(VENV)/.installed-test
	$(BIN)/ruff check extension tests $(wildcard bench)

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy extension

pytest: $(VENV)/.installed-test
	$(BIN)/pytest -q

test: lint typecheck pytest

# The runtime, a Genesys Cloud emulator and the example flow on free loopback ports; prints the web
# chat and agent console URLs. Fixed ports: make demo DEMO_ARGS="--port 8080 --emulator-port 9100".
demo: $(VENV)/.installed
	$(BIN)/genesys-om demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache

# Benchmarks (bench/): a few minutes; regenerates bench/RESULTS.md.
bench: $(VENV)/.installed-test
	$(PY) -m bench.run

.PHONY: image image-test

# The container image (Dockerfile): the wheelhouse built here, then `docker build` with the public
# base image, or another one: make image BASE=my-registry/python:3.11.
BASE ?= python:3.11-slim
image: $(VENV)/.installed-test
	rm -rf build/wheels
	$(PY) -m pip wheel -q --no-build-isolation -w build/wheels . async-timeout
	docker build --build-arg BASE=$(BASE) -t genesys-om:latest .

# Builds the image and runs a handover through it against the emulator (a few minutes the first
# time, when it may install Debian's docker.io and make a base image; under a minute afterwards).
image-test: $(VENV)/.installed-test
	PY=$(PY) tests/image/run.sh
