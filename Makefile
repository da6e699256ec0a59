# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
export PYTHONUNBUFFERED := 1

.PHONY: run test install system-deps services lint format check-migrations check-deploy pytest bench bench-tiny chaos clean

## make run: install, migrate, load demo data once, start web + Celery worker + beat (SQLite, no broker server)
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py seed_survey_demo --if-empty
	$(PY) manage.py seed_case_demo --if-empty
	$(PY) manage.py refresh_dashboard
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
	# collectstatic as a deployment runs it (the manifest storage rejects a missing source map, say)
	static=$$(mktemp -d) && DJANGO_SETTINGS_MODULE=winback.settings.production DJANGO_SECRET_KEY=ci-collectstatic \
	DJANGO_ALLOWED_HOSTS=winback.example.com CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
	CACHE_URL=redis://127.0.0.1:6379/1 WINBACK_EMAIL_HASH_KEY=ci DATABASE_URL=postgres://winback:winback@127.0.0.1:5432/winback \
	DJANGO_STATIC_ROOT=$$static $(PY) manage.py collectstatic --noinput -v0 && rm -rf $$static

pytest: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## make chaos: the failure drills at full size (RELIABILITY.md JOB-07, JOB-08, JOB-11: 10,000 invitations each) and the 50 MB / 500,000-row import (IMP-04); `make test` runs them small
chaos: install services
	WINBACK_DRILL_SIZE=10000 WINBACK_IMPORT_BIG_ROWS=500000 $(VENV)/bin/pytest -q -p no:cacheprovider \
		winback/tests/test_drill_redis.py winback/tests/test_drill_postgres.py winback/tests/test_drill_deploy.py \
		customers/tests/test_import_size.py

## make bench: the import and detection benchmarks at full size (1M customers, 20M transactions), 100,000 survey invitations, the survey page and the case pages with 100,000 open cases (see bench/README.md)
bench: install services
	$(PY) bench/import_bench.py --customers 1000000 --transactions 20000000
	$(PY) bench/detect_bench.py --customers 1000000 --transactions 20000000
	$(PY) bench/invite_bench.py --customers 100000
	$(PY) bench/survey_page_bench.py
	$(PY) bench/pages_bench.py
	$(PY) bench/dashboard_bench.py

# The benchmarks at a tiny size, so they keep working (real figures: see bench/README.md).
bench-tiny: install
	$(PY) bench/import_bench.py --transactions 2000 --customers 200
	$(PY) bench/detect_bench.py --transactions 2000 --customers 200 --new-transactions 500
	$(PY) bench/invite_bench.py --customers 200
	$(PY) bench/survey_page_bench.py --respondents 50 --seconds 2
	$(PY) bench/pages_bench.py --customers 300 --transactions 5000 --cases 200 --heavy 5 --managers 5 --requests 20 --database-url postgres://winback:winback@127.0.0.1:5432/winback_bench_cases_tiny
	$(PY) bench/dashboard_bench.py --customers 300 --transactions 5000 --cases 200 --managers 5 --requests 10 --database-url postgres://winback:winback@127.0.0.1:5432/winback_bench_dash_tiny

clean:
	rm -rf var db.sqlite3 $(VENV)
