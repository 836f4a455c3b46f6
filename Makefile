# PolyHunter — the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: venv test lint typecheck pytest demo bench soak migrate clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

pytest: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Ruff, mypy (django-stubs), then pytest. Uses DATABASE_URL / REDIS_URL when set (and fails,
# never skips, when they are set but unreachable); embedded SQLite + in-process broker otherwise.
test: lint typecheck pytest

migrate: $(STAMP)
	$(PY) manage.py migrate --no-input

# Embedded default: SQLite, in-process broker and worker, local simulated venue, seeded demo.
demo: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py run_embedded --demo

bench: $(STAMP)
	$(PY) bench/run.py $(if $(QUICK),--quick,)

# Chaos soak on its own PostgreSQL and Redis (var/soak/): kills, restarts, venue faults, then the
# invariants; report in var/soak/report.json, non-zero exit on any finding (docs/reliability.md).
soak: $(STAMP)
	$(PY) soak/run.py $(if $(QUICK),--quick,) $(if $(SOAK_MINUTES),--minutes $(SOAK_MINUTES),)

clean:
	rm -rf $(VENV) var/*.sqlite3* .mypy_cache .ruff_cache
