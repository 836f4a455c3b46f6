# PolyHunter — the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: venv test lint typecheck pytest debian-packages demo bench soak migrate clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

# Foundry's anvil, the local chain's node: an npm package with the binary inside, pinned with its
# integrity hash in tools/anvil/package-lock.json (execution/simulator/chain/node.py checks it).
ANVIL := tools/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
$(ANVIL): tools/anvil/package.json tools/anvil/package-lock.json
	cd tools/anvil && npm ci --no-audit --no-fund --loglevel=error
	touch $@

venv: $(STAMP) $(ANVIL)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

pytest: $(STAMP) $(ANVIL) debian-packages
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Debian packages the tests need (.ci/debian-packages: chromium for the browser tests), installed
# before anything runs when missing (as root or with sudo), or one line saying what to run.
debian-packages:
	@.ci/ensure-debian-packages

# Ruff, mypy (django-stubs), then pytest. Uses DATABASE_URL / REDIS_URL when set (and fails,
# never skips, when they are set but unreachable); embedded SQLite + in-process broker otherwise.
test: debian-packages lint typecheck pytest

migrate: $(STAMP)
	$(PY) manage.py migrate --no-input

# Embedded default: SQLite, in-process broker and worker, local simulated venue settling on a local
# anvil node (the fleet follower needs it), seeded demo. CHAIN=0: without the chain (and erin).
demo: $(STAMP) $(ANVIL)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py run_embedded --demo $(if $(filter 0 no false,$(CHAIN)),--no-chain,--chain)

bench: $(STAMP) $(ANVIL)
	$(PY) bench/run.py $(if $(QUICK),--quick,) $(if $(CHAIN),--chain,)

# Chaos soak on its own PostgreSQL and Redis (var/soak/): kills, restarts, venue faults, then the
# invariants; report in var/soak/report.json, non-zero exit on any finding (docs/reliability.md).
soak: $(STAMP)
	$(PY) soak/run.py $(if $(QUICK),--quick,) $(if $(SOAK_MINUTES),--minutes $(SOAK_MINUTES),)

clean:
	rm -rf $(VENV) var/*.sqlite3* .mypy_cache .ruff_cache tools/anvil/node_modules
