"""Survey page benchmark: the public survey form under gunicorn, next to a trivial view and a
20-row staff list page measured in the same run (issue 4; PERFORMANCE.md "Web").

    python bench/survey_page_bench.py [--respondents 2000] [--seconds 15] [--connections 16] [--keep]
                                      [--settings winback.settings.production]

Drops and recreates a dedicated database (default winback_page_bench), migrates it (the shipped
surveys come with the migrations) and creates N respondents: a customer, a defection event, a
sent invitation and a link each, plus 20 answered responses for the list page. Starts gunicorn
with 2 sync workers on 127.0.0.1 with the production settings (sessions in PostgreSQL, CSRF on,
rate-limit counters in Redis through CACHE_URL; the address limit is raised because every request
comes from 127.0.0.1 — the per-invitation limit of 30 a minute stays, and the respondents are
many enough that none reaches it). Each respondent's link is opened once, as from the email,
which binds it to a session; wrk then requests, in turn for the same duration:

- `/healthz`: a trivial view, no database;
- `/surveys/responses/`: the reviewer inbox listing 20 responses (a signed-in administrator);
- `/s/answer/`: the survey form, each request with the next respondent's session cookie, so
  nothing is shared or cached across respondents (each page reads the session, the invitation,
  the survey and its questions, counts the rate limits and sets a CSRF token).

Prints requests per second and latency percentiles of each, the load average before and after
(other work on the machine skews every figure; compare the pages of one run), and whether the
survey form meets the target: at least the list page's throughput and p99 under 50 ms. Any non-2xx
answer (a throttled or failed request) makes the run invalid (exit 1).
"""

import argparse
import datetime as dt
import http.client
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    code_version,
    dedicated_database,
    recreate_database,
    release_database,
    setup_django,
)

DEFAULT_DATABASE_URL = "postgres://winback:winback@127.0.0.1:5432/winback_page_bench"
PORT = 8765
LIST_ROWS = 20
COOKIE = "__Host-sessionid"  # the production settings' session cookie

LUA = """
local cookies = {}
for line in io.lines("%(cookies)s") do cookies[#cookies + 1] = line end
local counter = 0
local offset = 0
function setup(thread)
  thread:set("offset", math.random(1, #cookies))
end
function init(args)
  counter = tonumber(offset) or 0
end
function request()
  counter = counter + 1
  local cookie = cookies[(counter %% #cookies) + 1]
  return wrk.format("GET", nil, {["Cookie"] = "%(name)s=" .. cookie, ["X-Forwarded-Proto"] = "https"})
end
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--respondents", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_PAGE_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"))
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--settings",
        default="winback.settings.production",
        help="the server's settings module (to compare a settings change; it must import the production settings)",
    )
    return parser.parse_args(argv)


def seed(respondents: int) -> tuple[list[str], str]:
    """The respondents' raw tokens and an administrator's session key (set up in the database)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.utils import timezone

    from customers.models import Customer, DefectionEvent
    from surveys.mail import new_message_id
    from surveys.models import Invitation, Question, Response, Survey, SurveyLink
    from surveys.tokens import hash_token, new_token

    now = timezone.now()
    survey = Survey.objects.get(language="en", is_active=True)
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            Customer(external_id=f"P{i:07d}", name=f"Respondent {i}", email=f"p{i}@example.org", status="defected")
            for i in range(respondents)
        )
        events = DefectionEvent.objects.bulk_create(
            DefectionEvent(
                customer=c, kind="passive", detected_at=now, as_of=now.date(), status_changed_at=now, lost_revenue=900
            )
            for c in customers
        )
        invitations = Invitation.objects.bulk_create(
            Invitation(
                event=e,
                customer=e.customer,
                survey=survey,
                language="en",
                status="sent",
                sent_at=now,
                signer_name="Anna Manager",
                reviewer_name="Rita Reviewer",
                message_id=new_message_id(),
            )
            for e in events
        )
        tokens = [new_token() for _ in invitations]
        SurveyLink.objects.bulk_create(
            SurveyLink(invitation=inv, token_hash=hash_token(tok), expires_at=now + dt.timedelta(days=30))
            for inv, tok in zip(invitations, tokens, strict=True)
        )
        open_text = survey.questions.get(kind=Question.Kind.OPEN_TEXT)
        for invitation in invitations[:LIST_ROWS]:
            response = Response.objects.create(
                invitation=invitation, customer=invitation.customer, survey=survey, language="en", stated_reason="price"
            )
            response.answers.create(question=open_text, text="Prices went up twice in a year.")
    admin = get_user_model().objects.create_user("bench-admin", password=secrets.token_urlsafe(16), is_staff=True)
    admin.groups.add(Group.objects.get(name="Administrators"))
    session = SessionStore()
    session[SESSION_KEY] = str(admin.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # the model backend
    session[HASH_SESSION_KEY] = admin.get_session_auth_hash()
    session.create()
    return tokens, session.session_key


SECRET_KEY = secrets.token_urlsafe(48)  # the server's and this process's (the admin session is signed)


def server_env(args) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WINBACK_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE=args.settings,
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.redis_url,
        CACHE_URL=args.redis_url,
        WINBACK_EMAIL_HASH_KEY="bench-only",
        WINBACK_SURVEY_IP_RATES="100000000/m,100000000/h",
        # The list page's administrator signs in without a second factor (a bench-only session).
        WINBACK_REQUIRE_ADMIN_2FA="false",
    )
    return env


def wait_for_server(process: subprocess.Popen) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def open_links(tokens: list[str]) -> list[str]:
    """Opens each emailed link once, as the respondent does: the session it binds, per respondent."""
    sessions = []
    for token in tokens:
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        connection.request("GET", f"/s/{token}/", headers={"X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie") or ""
        match = re.search(rf"{re.escape(COOKIE)}=([^;]+)", cookie)
        if response.status != 302 or not match:
            raise SystemExit(f"opening a link answered {response.status}")
        sessions.append(match.group(1))
    return sessions


def check_page(path: str, cookie: str) -> None:
    """One request first: the page must answer 200 (not a sign-in redirect or a throttle)."""
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    connection.request("GET", path, headers={"X-Forwarded-Proto": "https", "Cookie": f"{COOKIE}={cookie}"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}")


def run_wrk(path: str, cookies: list[str], args, workdir: Path) -> dict:
    cookie_file = workdir / f"cookies-{len(cookies)}.txt"
    cookie_file.write_text("\n".join(cookies) + "\n")
    script = workdir / f"wrk-{len(cookies)}.lua"
    script.write_text(LUA % {"cookies": cookie_file, "name": COOKIE})
    command = [
        "wrk",
        "-t2",
        f"-c{args.connections}",
        f"-d{args.seconds}s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{PORT}{path}",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    percentiles = {}
    for label, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
        percentiles[label] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {
        "rate": rate,
        "p50": percentiles.get("50"),
        "p99": percentiles.get("99"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk; make system-deps does it)")
    database = dedicated_database(args.database_url)
    recreate_database(args.database_url, database)
    print(f"code: {code_version()}, server settings: {args.settings}")
    os.environ["DJANGO_SECRET_KEY"] = SECRET_KEY
    setup_django(args.database_url)
    from django.db import connections

    tokens, admin_session = seed(args.respondents)
    connections.close_all()
    static_root = tempfile.mkdtemp(prefix="winback-bench-static-")
    env = {**server_env(args), "DJANGO_STATIC_ROOT": static_root}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "winback.wsgi",
            "-c",
            "python:winback.gunicorn_conf",  # the production settings (preload, gc.freeze), then:
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    results = {}
    try:
        wait_for_server(server)
        sessions = open_links(tokens)
        load_before = os.getloadavg()  # includes this run's own seeding and link opening
        with tempfile.TemporaryDirectory() as workdir:
            for name, path, cookies in (
                ("trivial view (/healthz)", "/healthz", ["-"]),
                (f"{LIST_ROWS}-row list page (reviewer inbox)", "/surveys/responses/", [admin_session]),
                ("survey form (/s/answer/)", "/s/answer/", sessions),
            ):
                check_page(path, cookies[-1])
                results[name] = run_wrk(path, cookies, args, Path(workdir))
        load_after = os.getloadavg()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(static_root, ignore_errors=True)
        release_database(args.database_url, database, keep=args.keep)

    print(
        f"\ngunicorn 2 sync workers, wrk 2 threads, {args.connections} connections, {args.seconds} s each, "
        f"{args.respondents} respondents; load average (1, 5, 15 min) before "
        f"{', '.join(f'{x:.2f}' for x in load_before)}, after {', '.join(f'{x:.2f}' for x in load_after)}\n"
    )
    print("| page | requests/s | p50 ms | p99 ms | non-2xx |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {r['rate']:.0f} | {r['p50'] or 0:.1f} | {r['p99'] or 0:.1f} | {r['non_2xx']} |")
    survey, listing = results["survey form (/s/answer/)"], results[f"{LIST_ROWS}-row list page (reviewer inbox)"]
    throughput_ok = survey["rate"] >= listing["rate"]
    latency_ok = (survey["p99"] or 1e9) < 50
    print(
        f"\nsurvey form: {survey['rate'] / listing['rate']:.2f}× the list page's throughput "
        f"({'PASS' if throughput_ok else 'FAIL'}), p99 {survey['p99']:.1f} ms < 50 ms "
        f"({'PASS' if latency_ok else 'FAIL'})"
    )
    invalid = [name for name, r in results.items() if r["non_2xx"] or r["socket_errors"]]
    if invalid:
        print(f"invalid run: errors on {', '.join(invalid)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
