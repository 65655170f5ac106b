# Two commands: `make run` (the whole system) and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

# Local defaults for the demo and the tests; real deployments set their own environment.
export DEBUG ?= true
# The URL `make run` serves under, recorded in .env so that every manage.py command in this
# checkout publishes it (not exported globally: a later `make check` must not reset it).
RUN_BASE_URL := $(or $(OCPI_BASE_URL),http://127.0.0.1:$(PORT))

.PHONY: help run test lint format check ci install install-run clean browser-deps prod-check

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# Two stamps: `make run` installs only what running needs; `make test`/`lint` add the
# development extras (pytest, Playwright, mypy...), which also satisfy the run stamp.
$(BIN)/.installed-run: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $@

$(BIN)/.installed-dev: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@ $(BIN)/.installed-run

install: $(BIN)/.installed-dev  ## create .venv and install the project with the development extras

install-run: $(BIN)/.installed-run  ## create .venv and install only what running needs

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

run: $(BIN)/.installed-run .env  ## migrate, make sure an admin login exists, start web + worker + scheduler
	@grep -v '^OCPI_BASE_URL=' .env > .env.tmp; echo "OCPI_BASE_URL=$(RUN_BASE_URL)" >> .env.tmp
	@mv .env.tmp .env
	@echo "Recorded OCPI_BASE_URL=$(RUN_BASE_URL) in .env: manage.py commands in this checkout publish it"
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ocpi_ensure_operator
	@echo "Admin: http://127.0.0.1:$(PORT)/admin/   OCPI versions: $(RUN_BASE_URL)/ocpi/versions"
	PATH="$(CURDIR)/$(BIN):$$PATH" WEB_PORT=$(PORT) OCPI_BASE_URL=$(RUN_BASE_URL) \
	  $(BIN)/honcho -f Procfile start

# Not with this Makefile's DEBUG=true default: the environment (or OCPI_ENV_FILE) decides.
prod-check: $(BIN)/.installed-run  ## validate a production environment (check --deploy, migrations, static, DB, broker, base URL)
	$(if $(filter file,$(origin DEBUG)),env -u DEBUG) $(BIN)/python manage.py ocpi_prod_check

test: $(BIN)/.installed-dev browser-deps  ## run the whole test suite (installs Chromium for the browser tests when missing)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# mypy's Django plugin imports the settings; with DEBUG on they need no SECRET_KEY (fresh clone).
lint: $(BIN)/.installed-dev  ## ruff check and format check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy versions partners pushers monitoring

format: $(BIN)/.installed-dev  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: $(BIN)/.installed-run  ## Django system checks and missing migrations
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:  ## remove the virtualenv and local data
	rm -rf $(VENV) var
