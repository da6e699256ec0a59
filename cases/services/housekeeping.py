"""Case housekeeping (the jobs area fills this in)."""


def run_housekeeping(*, detection_run_id: int | None = None) -> str:
    return "nothing to do yet"
