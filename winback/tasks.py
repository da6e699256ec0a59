from celery import shared_task


@shared_task(name="winback.ping", ignore_result=False)
def ping() -> str:
    """Answers "pong": lets operators and the smoke test check that a worker is consuming."""
    return "pong"


from winback.dashboard.tasks import refresh_dashboard_task  # noqa: E402,F401  (registers the job with workers)
