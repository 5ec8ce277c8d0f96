# Shipshape OMS — every target creates .venv first, so a fresh machine needs only
# python3 (>= 3.11) and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

# The stamp depends on pyproject.toml: changing dependencies re-installs on the next target.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(VENV): $(STAMP)

## run: the whole stack on this machine (embedded Postgres, Temporal dev server, worker, API)
run: $(STAMP)
	$(BIN)/oms dev

## test: the test suite; uses OMS_TEST_DATABASE_URL when set, else an embedded Postgres
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## lint: ruff + mypy
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .

## bench: end-to-end load run through the HTTP API (raw runs in bench/runs/, current figures in bench/RESULTS.md)
bench: $(STAMP)
	$(BIN)/python -m bench.run

## bench-workers: orders/s with 1, 2, 4 workers and 2 APIs vs bare; worker RSS with orders waiting at pick
.PHONY: bench-workers
bench-workers: $(STAMP)
	$(BIN)/python -m bench.workers

## bench-scans: scan latency under 100 concurrent scanners vs the bare Update (+ one INSERT)
.PHONY: bench-scans
bench-scans: $(STAMP)
	$(BIN)/python -m bench.scans

## bench-pack: pack latency with the carrier failing 30% vs well, in one run (docs/decisions/0008)
.PHONY: bench-pack
bench-pack: $(STAMP)
	$(BIN)/python -m bench.pack

## bench-stock: reservations on hot SKUs vs a plain UPDATE, routing vs allocation time
.PHONY: bench-stock
bench-stock: $(STAMP)
	$(BIN)/python -m bench.reservations
	$(BIN)/python -m bench.routing

## bench-dashboard: the dashboard's reads and the SSE fan-out at 10k and 1M orders (bench/RESULTS.md)
.PHONY: bench-dashboard
bench-dashboard: $(STAMP)
	$(BIN)/python -m bench.dashboard

## bench-analytics: every analytics endpoint at 10k and 1M orders (bench/RESULTS.md)
.PHONY: bench-analytics
bench-analytics: $(STAMP)
	$(BIN)/python -m bench.analytics

## clean: remove the venv, caches and build output (keeps .oms/, the dev stack's data)
clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
