"""gunicorn settings for production: `gunicorn -c python:winback.gunicorn_conf winback.wsgi`.

Sync workers sized to the cores (PERFORMANCE.md: more workers than cores is no faster; threads
exhaust database connections). The application is loaded once before forking and everything it
allocated is moved out of the garbage collector's reach (`gc.freeze()`), so the collections a
request triggers never walk Django's own long-lived objects: fewer and shorter pauses, a lower p99
(bench/README.md "Surveys: the survey page").
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = "sync"
preload_app = True
# Replacing a worker costs a pause its queued requests feel (a p99 of 0.5 s in the benchmark at
# 5,000): off by default; set it when a leak needs containing.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
graceful_timeout = 25
timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None


def when_ready(server):
    gc.collect()
    gc.freeze()


def post_fork(server, worker):
    # Young-generation collections stay frequent and cheap; the old generation (now small) is
    # collected less often.
    gc.set_threshold(10_000, 50, 100)
