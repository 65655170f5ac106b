# Two commands: `make run` (the whole system) and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

# Local defaults for the demo and the tests; real deployments set their own environment.
export DEBUG ?= true
export OCPI_BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: help run test lint format check ci install clean browser-deps

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed  ## create .venv and install the project

# The browser tests (tests/e2e) drive Debian's Chromium; Playwright's own browser download
# needs the network, so it is not used.
browser-deps:  ## install Chromium from apt for the browser tests (only when missing)
	@test -x /usr/bin/chromium || { \
	  command -v apt-get >/dev/null || { echo "browser tests need /usr/bin/chromium (Debian package chromium)"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Local settings for `make run` and manage.py in this checkout: DEBUG on, a generated key.
.env:
	@echo "DEBUG=true" > $@
	@echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" >> $@
	@echo "Wrote $@ (local settings for this checkout; see README \"Settings\")"

run: $(BIN)/.installed .env  ## migrate, make sure an admin login exists, start web + worker + scheduler
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ocpi_ensure_operator
	@echo "Admin: http://127.0.0.1:$(PORT)/admin/   OCPI versions: $(OCPI_BASE_URL)/ocpi/versions"
	PATH="$(CURDIR)/$(BIN):$$PATH" WEB_PORT=$(PORT) $(BIN)/honcho -f Procfile start

test: $(BIN)/.installed browser-deps  ## run the whole test suite (installs Chromium for the browser tests when missing)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# mypy's Django plugin imports the settings; with DEBUG on they need no SECRET_KEY (fresh clone).
lint: $(BIN)/.installed  ## ruff check and format check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy versions partners pushers

format: $(BIN)/.installed  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: $(BIN)/.installed  ## Django system checks and missing migrations
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:  ## remove the virtualenv and local data
	rm -rf $(VENV) var
