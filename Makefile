# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
export PYTHONUNBUFFERED := 1

.PHONY: run test install system-deps services lint format check-migrations check-deploy pytest bench bench-tiny clean

## make run: install, migrate, load demo data once, start web + Celery worker + beat (SQLite, no broker server)
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	.ci/run-local

## make test: install everything, provide PostgreSQL and Redis, run the whole suite against them
test: system-deps install services lint check-migrations check-deploy pytest bench-tiny

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

system-deps:
	.ci/install-system

services:
	.ci/services

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check-migrations: install
	DJANGO_SETTINGS_MODULE=winback.settings.test $(PY) manage.py makemigrations --check --dry-run

# CFG-01: the production settings pass Django's deployment checks with no warning.
check-deploy: install
	DJANGO_SETTINGS_MODULE=winback.settings.production \
	DJANGO_SECRET_KEY='ci-deploy-check-$(shell head -c 48 /dev/urandom | base64 | tr -d "/+=\n")' \
	DJANGO_ALLOWED_HOSTS=winback.example.com CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
	CACHE_URL=redis://127.0.0.1:6379/1 WINBACK_EMAIL_HASH_KEY=ci-deploy-check-hash-key \
	DATABASE_URL=postgres://winback:winback@127.0.0.1:5432/winback \
	$(PY) manage.py check --deploy --fail-level WARNING

pytest: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## make bench: the import and detection benchmarks at full size (1M customers, 20M transactions; see bench/README.md)
bench: install services
	$(PY) bench/import_bench.py --customers 1000000 --transactions 20000000
	$(PY) bench/detect_bench.py --customers 1000000 --transactions 20000000

# The benchmarks at a tiny size, so they keep working (real figures: see bench/README.md).
bench-tiny: install
	$(PY) bench/import_bench.py --transactions 2000 --customers 200
	$(PY) bench/detect_bench.py --transactions 2000 --customers 200 --new-transactions 500

clean:
	rm -rf var db.sqlite3 $(VENV)
