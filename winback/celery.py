"""The Celery app. The broker comes from CELERY_BROKER_URL (Redis in production); the local
settings default to kombu's filesystem transport, which needs no server and crosses processes."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "winback.settings.local")

app = Celery("winback", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
