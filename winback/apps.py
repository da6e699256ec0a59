from django.apps import AppConfig


class WinbackConfig(AppConfig):
    name = "winback"
    verbose_name = "Winback"

    def ready(self) -> None:
        # The security-event receivers (sign-in failures, lock-outs, Celery task ids) connect on
        # import; not only when the LOGGING config or the middleware happen to import the module.
        from winback import logs  # noqa: F401
