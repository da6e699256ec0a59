"""Operations: the staff Jobs page's figures (board), the overdue-job alert and its beat job
(alerts, `winback.ops.check_jobs_task`), and the health checks of /healthz/ready (health).

Importing this package registers the beat job with workers (settings.CELERY_IMPORTS).
"""

from winback.ops.alerts import alert_overdue_jobs, check_jobs_task
from winback.ops.board import job_board, job_statuses
from winback.ops.health import health_checks

__all__ = ["alert_overdue_jobs", "check_jobs_task", "health_checks", "job_board", "job_statuses"]
