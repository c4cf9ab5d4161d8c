# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# the `fast` extra (uvloop): serve, its benchmarks and the transport tests run on the same loop
	$(BIN)/python -m pip install --quiet -e '.[test,fast]'
	touch $(STAMP)

# Other ports: `make run SMTP_PORT=2626 WEB_PORT=8026` (empty = the config file's).
SMTP_PORT ?=
WEB_PORT ?=
RUN_ENV := $(if $(SMTP_PORT),GATEWAY_SMTP_PORT=$(SMTP_PORT)) $(if $(WEB_PORT),GATEWAY_WEB_PORT=$(WEB_PORT))

run: $(STAMP)
	mkdir -p var/outbox
	$(BIN)/mentor-gateway migrate
	$(BIN)/mentor-gateway demo
	exec env $(RUN_ENV) $(BIN)/mentor-gateway serve

lint: $(STAMP)
	$(BIN)/ruff check gateway tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# One worker per core (pytest-xdist): every test makes its own ports, folders and schemas.
test: $(STAMP) lint typecheck
	$(BIN)/pytest -q -n auto

bench: $(STAMP)
	$(BIN)/python bench/relay_throughput.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/hostile_texts.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
