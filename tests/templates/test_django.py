"""The Django template, proven as it runs, for its defaults, every option at once and a pairwise
set of combinations.

Each combination is generated with `stackwise new` (rendered, locked, committed). Then a fresh
clone passes its CI workflow as written (lint, format, mypy, migrations in sync, its own suite on
the real PostgreSQL and Redis it uses); the image replayed from its Dockerfile runs the README's
release command and serves production settings (HTTPS, HSTS, no debug pages, `check --deploy`
clean, no start without a secret) and carries an account through its life over a real SMTP
server (sign-up, the verification link, log in, reset by mail); every compose service (web,
worker, beat) runs production settings and passes the healthcheck that applies to it; bandit,
hadolint and actionlint pass.
"""

from __future__ import annotations

import http.client
import os
import secrets
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.templates.as_run import (
    HTTPS,
    OUTAGE_BOUND,
    Case,
    Deployer,
    Image,
    LocalServices,
    SettingsProbe,
    check_cases,
    check_ci_workflow,
    check_database_lock,
    check_database_outage,
    check_development_web,
    check_name_shown_as_text,
    check_observability,
    check_production_web,
    check_readiness_names,
    check_refuses_without,
    check_services,
    check_untrusted_proxy_is_ignored,
    compose_services,
    documented_services,
    http_response,
    local_services,
    record_fault,
    serving_as_documented,
    serving_with_redis_fault,
    silent_listener,
)
from tests.templates.combinations import (
    HOSTILE_ANSWERS,
    Answers,
    as_params,
    hostile_id,
    pairwise,
    row_id,
)
from tests.templates.conftest import (
    Generated,
    check_bandit,
    check_deployment_files,
    generate,
    on_a_bad_day_only,
    on_rows_only,
)
from tests.templates.mail import Mailbox, first_link, smtp_server

pytestmark = pytest.mark.templates

# Prints the settings in effect; every process of the image must print production's.
SETTINGS = SettingsProbe(
    [
        "python",
        "-c",
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SETTINGS_MODULE, s.DEBUG)",
    ],
    "config.settings.production False",
)

DEFAULTS: Answers = {
    "api": "none",
    "celery": False,
    "cms": "none",
    "database": "sqlite",
    "login_by": "username",
    "sentry": False,
    "storage": "local",
}
OPTIONS = {
    "api": ["none", "drf", "ninja"],
    "celery": [False, True],
    "cms": ["none", "wagtail"],
    "database": ["sqlite", "postgres"],
    "login_by": ["username", "email"],
    "sentry": [False, True],
}
# Every option on at once, for the gates that must hold at both ends (security, deploy checks).
MAXIMAL: Answers = {
    "api": "drf",
    "celery": True,
    "cms": "wagtail",
    "database": "postgres",
    "login_by": "email",
    "mfa": True,
    "observability": True,
    "sentry": True,
    "storage": "s3",
}
# The defaults come from copier.yml itself (no answers given); the pairwise rows follow, for the
# pairs of values these rows leave out.
FIXED: list[Answers] = [
    {},
    MAXIMAL,
    # observability on SQLite (its sqlite3 instrumentation), and with a slug isort puts first
    {**HOSTILE_ANSWERS, "api": "ninja", "celery": True, "observability": True, "sentry": True},
]
COMBINATIONS = FIXED + pairwise(OPTIONS, covered=[{**DEFAULTS, **row} for row in FIXED])


@pytest.fixture(
    scope="module",
    params=as_params(
        "django", COMBINATIONS, lambda row: hostile_id(row) or row_id(row) or "defaults"
    ),
)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    destination = tmp_path_factory.mktemp("django") / "shop"
    return generate(destination, {"framework": "django", **request.param})


@pytest.fixture
def services(project: Generated) -> Iterator[LocalServices]:
    answers = {**DEFAULTS, **project.answers}
    # Every project's compose file has Redis (the cache; the broker too with celery).
    with local_services(postgres=answers["database"] == "postgres", redis=True) as up:
        yield up


def test_generated_django_project_passes_its_ci_workflow_as_written(
    project: Generated, services: LocalServices, tmp_path: Path
) -> None:
    check_ci_workflow(project.path, tmp_path, services)


def test_generated_django_image_serves_production_as_built(
    project: Generated, image: Image, services: LocalServices
) -> None:
    deployer = Deployer(services, image)
    admin_url = str(project.answers["admin_url"])
    observability = project.answers.get("observability", False)
    # Metrics are summed over the workers: two of them share the requests.
    workers = {"WEB_CONCURRENCY": "2"} if observability else {}

    with serving_as_documented(project.path, image, deployer, overrides=workers) as served:
        check_production_web(served.base_url, "/")
        check_name_shown_as_text(served.base_url, "/", project.answers["project_name"])
        if observability:
            check_observability(served, "/", route="/")
        status, headers, body = http_response(f"{served.base_url}/accounts/login/", HTTPS)
        assert status == 200
        assert b"csrfmiddlewaretoken" in body
        assert "secure" in headers["set-cookie"].lower()  # production's CSRF_COOKIE_SECURE
        # The admin logs in through the site's login (allauth's, throttled).
        status, headers, _ = http_response(f"{served.base_url}/{admin_url}login/", HTTPS)
        assert status == 302
        assert headers["location"].startswith("/accounts/login/?next="), headers["location"]

    deploy_check = ["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    completed = image.run(deploy_check, served.env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    check_refuses_without("DJANGO_SECRET_KEY", image, image.cmd, served.env)
    # Mailed links are built on the site's documented address, never on a request's Host header.
    check_refuses_without("DJANGO_SITE_URL", image, image.cmd, served.env)
    check_refuses_without("DJANGO_DEFAULT_FROM_EMAIL", image, image.cmd, served.env)
    if project.answers.get("storage") == "s3":  # uploads would land on the container's disk
        check_refuses_without("AWS_STORAGE_BUCKET_NAME", image, image.cmd, served.env)
    # The throttling counts live in the cache, shared by workers only in Redis.
    check_refuses_without("REDIS_URL", image, image.cmd, {**served.env, "WEB_CONCURRENCY": "3"})
    check_untrusted_proxy_is_ignored(project.path, image, services, "/")
    workers = documented_services(project.path, image, deployer)
    check_services(workers, image, "/", SETTINGS)
    assert len(workers) == (2 if project.answers["celery"] else 0)  # worker and beat
    if project.answers["database"] == "postgres":
        check_database_outage(project.path, image, deployer, ["/"])
        # A request reading the session waits behind the lock until the statement timeout.
        check_database_lock(project.path, image, deployer, "django_session", ["/"])


def test_generated_django_compose_services_run_production(
    project: Generated, image: Image, services: LocalServices
) -> None:
    services_of_compose = compose_services(project.path, image, Deployer(services, image))
    check_services(services_of_compose, image, "/", SETTINGS)
    names = [service.name for service in services_of_compose]

    expected = ["web", "worker", "beat"] if project.answers["celery"] else ["web"]
    assert names == expected


def test_generated_django_development_stack_reloads_and_mails_mailpit(
    request: pytest.FixtureRequest, project: Generated, image: Image, services: LocalServices
) -> None:
    on_rows_only(request, {"defaults", row_id(MAXIMAL)}, "the development stack's proof")
    composed = compose_services(project.path, image, Deployer(services, image), development=True)
    probe = SettingsProbe(
        [
            "python",
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SETTINGS_MODULE, s.DEBUG, s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT)",
        ],
        "config.settings.local True django.core.mail.backends.smtp.EmailBackend mailpit 1025",
    )
    web = next(service for service in composed if service.name == "web")

    check_development_web(project.path, web, image, "/", "config/urls.py", probe)


def test_generated_django_code_has_no_medium_or_high_bandit_finding(project: Generated) -> None:
    check_bandit(project.path)


def test_generated_django_dockerfile_and_workflow_lint_clean(project: Generated) -> None:
    check_deployment_files(project.path)


# --- a bad day, several workers, several users -------------------------------------------------

PASSWORD = secrets.token_urlsafe(16)  # the accounts the checks sign up


@dataclass
class Visitor:
    """A browser behind the TLS-terminating proxy: it keeps its cookies (Secure ones too, as a
    browser on HTTPS does), sends forms back with their CSRF token and an Origin, and reaches
    the server from the trusted proxy with its own X-Forwarded-For address."""

    base_url: str
    address: str = field(
        default_factory=lambda: f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(255) + 1}"
    )
    https: bool = True
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes, float]:
        netloc = urllib.parse.urlsplit(self.base_url).netloc
        scheme = "https" if self.https else "http"
        headers = {"Host": netloc, "X-Forwarded-For": self.address}
        if self.https:
            headers.update(HTTPS)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(
                {**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            )
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"{scheme}://{netloc}"
            headers["Referer"] = f"{scheme}://{netloc}{path}"
        started_at = time.monotonic()
        connection = http.client.HTTPConnection(netloc, timeout=OUTAGE_BOUND + 30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        seconds = round(time.monotonic() - started_at, 2)
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, content, seconds

    def send_form(
        self, path: str, form: dict[str, str], fault: str = "", status: int | None = None
    ) -> tuple[int, dict[str, str], float]:
        """Fetches the form (for its CSRF cookie), posts it back, and when `status` is given
        asserts it within OUTAGE_BOUND (recorded for the fault table under `fault`)."""
        assert self.request("GET", path)[0] == 200, path
        got, headers, body, seconds = self.request("POST", path, form)
        if status is not None:
            record_fault(fault, f"POST {path}", got, seconds)
            print(f"{fault}: POST {path} {got} in {seconds} s")
            assert got == status, (fault, path, got, body[:500])
            assert seconds < OUTAGE_BOUND, (fault, path, seconds)
            if got in (429, 503):
                assert "retry-after" in headers, (fault, path, headers)
        return got, headers, seconds

    def logged_in(self) -> bool:
        status, _, body, _ = self.request("GET", "/")
        assert status == 200
        return b"Log out" in body


def sign_up_form(login_by: str, name: str) -> dict[str, str]:
    form = {"email": f"{name}@example.com", "password1": PASSWORD, "password2": PASSWORD}
    return {"username": name, **form} if login_by == "username" else form


def login_name(login_by: str, name: str) -> str:
    return name if login_by == "username" else f"{name}@example.com"


VERIFICATION_SENT = "/accounts/confirm-email/"  # where sign-up leads while the address waits


def mail_env(mailbox: Mailbox) -> dict[str, str]:
    """The production mail settings (the README's DJANGO_EMAIL_*) pointing at `mailbox`; SMTP
    even where an email service's API is chosen."""
    return {
        "DJANGO_EMAIL_BACKEND": "smtp",
        "DJANGO_EMAIL_HOST": mailbox.host,
        "DJANGO_EMAIL_PORT": str(mailbox.port),
        "DJANGO_EMAIL_USE_TLS": "false",
    }


@contextmanager
def mailing_to(
    project: Generated, image: Image, deployer: Deployer, mailbox: Mailbox
) -> Iterator[dict[str, str]]:
    """The server's overrides that send its mail to `mailbox`. With Celery, account mail is sent
    by the worker: one runs meanwhile, as the README starts it, with the same mail settings."""
    env = mail_env(mailbox)
    if not project.answers["celery"]:
        yield env
        return
    services = documented_services(project.path, image, deployer)
    worker = next(service for service in services if "worker" in service.command)
    with image.start(worker.command, {**worker.env, **env}):
        yield env


def path_of(message_link: str) -> str:
    return urllib.parse.urlsplit(message_link).path


def full_link(mailbox: Mailbox, email: str, part: str, after: int = 0) -> str:
    """The link containing `part` in the first mail to `email` from `after` on."""
    return first_link(mailbox, email, lambda link: part in link, after, timeout=60)


def link_to(mailbox: Mailbox, email: str, part: str, after: int = 0) -> str:
    """The path of the link containing `part` in the first mail to `email` from `after` on."""
    return path_of(full_link(mailbox, email, part, after))


# What the Deployer gives the README's DJANGO_SITE_URL: mailed links are built on it, never on
# the host the request named (the server is reached at 127.0.0.1 on some port).
DOCUMENTED_SITE_URL = "https://localhost"


def log_in(base_url: str, login: str, password: str, fault: str, status: int = 302) -> Visitor:
    visitor = Visitor(base_url)
    form = {"login": login, "password": password}
    visitor.send_form("/accounts/login/", form, fault or "log in", status)
    return visitor


def sign_up(base_url: str, login_by: str, fault: str = "", mailbox: Mailbox | None = None) -> str:
    """A new account signed up over HTTP; returns its name. Where its address must be verified
    first, the link mailed to `mailbox` is followed and the account logs in; without a mailbox
    (the server's mail goes nowhere) the account is made, not verified."""
    name = f"u{secrets.token_hex(4)}"
    email = f"{name}@example.com"
    visitor = Visitor(base_url)
    after = len(mailbox.messages) if mailbox else 0
    _, headers, _ = visitor.send_form(
        "/accounts/signup/", sign_up_form(login_by, name), fault or "sign-up", 302
    )
    if headers["location"] != VERIFICATION_SENT:
        assert visitor.logged_in(), f"{fault}: signed up but not logged in"
        return name
    assert not visitor.logged_in(), f"{fault}: logged in before the address was verified"
    if mailbox is None:
        return name
    link = link_to(mailbox, email, "/accounts/confirm-email/", after)
    Visitor(base_url).send_form(link, {}, fault or "verification link", 302)
    assert log_in(base_url, login_name(login_by, name), PASSWORD, fault).logged_in()
    return name


def guess(visitor: Visitor, account: str) -> int:
    form = {"login": account, "password": "not-the-password"}
    return visitor.send_form("/accounts/login/", form)[0]


def check_guessing_is_throttled(base_url: str, login_by: str, mailbox: Mailbox) -> None:
    """Guessing one account's password from one address: 429 with Retry-After once the rate for
    that account from that address (5 a minute) is spent, while the owner logs in from another
    address, and another client to its own account. django-ratelimit counts in fixed windows:
    one may end during the guesses and start the count again."""
    victim, other = (
        login_name(login_by, sign_up(base_url, login_by, mailbox=mailbox)) for _ in range(2)
    )
    attacker = Visitor(base_url)
    statuses: list[int] = []
    for _ in range(2 * 5 + 1):
        statuses.append(guess(attacker, victim))
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429, statuses
    assert statuses[:5] == [200] * 5, statuses
    attacker.send_form(
        "/accounts/login/", {"login": victim, "password": PASSWORD}, "login guessing", 429
    )
    # The victim, from another X-Forwarded-For address; another client, to its own account.
    assert log_in(base_url, victim, PASSWORD, "login guessing, owner elsewhere").logged_in()
    assert log_in(base_url, other, PASSWORD, "login guessing").logged_in()


def check_session_on_every_worker(base_url: str, login_by: str, mailbox: Mailbox) -> None:
    """Logged in once, the session holds on ten requests, whichever worker answers each."""
    name = sign_up(base_url, login_by, "two workers", mailbox)
    visitor = log_in(base_url, login_name(login_by, name), PASSWORD, "two workers")
    assert [visitor.logged_in() for _ in range(10)] == [True] * 10


# Redis shared by two workers (the README's deployment), and process memory in one worker without
# REDIS_URL, SQLite; and Celery on that Redis, PostgreSQL, every login (site, admin, Wagtail, DRF
# Basic).
MAXIMAL_ID = row_id(MAXIMAL)
BAD_DAY = {"defaults", MAXIMAL_ID}


def test_generated_django_holds_up_on_a_bad_day_with_many_workers_and_users(
    project: Generated, image: Image, services: LocalServices, request: pytest.FixtureRequest
) -> None:
    """Redis (cache, and broker) down or hanging, a mail server that never answers, two workers,
    a password guesser, and a client the proxy does not vouch for."""
    on_a_bad_day_only(request, BAD_DAY)
    answers = {**DEFAULTS, **project.answers}
    login_by = str(answers["login_by"])
    deployer = Deployer(services, image)

    with ExitStack() as stack:  # the sign-ups' mail, read from a real SMTP server
        mailbox = stack.enter_context(smtp_server())
        mail = stack.enter_context(mailing_to(project, image, deployer, mailbox))
        with serving_as_documented(
            project.path, image, deployer, overrides={**mail, "WEB_CONCURRENCY": "2"}
        ) as served:  # the README's REDIS_URL: one count for both workers
            check_session_on_every_worker(served.base_url, login_by, mailbox)
            check_guessing_is_throttled(served.base_url, login_by, mailbox)
            reset_email = f"{sign_up(served.base_url, login_by, mailbox=mailbox)}@example.com"
        if not answers["celery"]:  # (Celery would send its tasks to a Redis of this machine)
            # Without REDIS_URL, the counts are in the memory of the one worker gunicorn allows.
            without_redis = {**mail, "REDIS_URL": "", "WEB_CONCURRENCY": "1"}
            with serving_as_documented(
                project.path, image, deployer, release=False, overrides=without_redis
            ) as served:
                check_guessing_is_throttled(served.base_url, login_by, mailbox)

    with ExitStack() as stack:
        port = stack.enter_context(silent_listener())
        mail = {
            "DJANGO_EMAIL_HOST": "127.0.0.1",
            "DJANGO_EMAIL_PORT": str(port),
            "DJANGO_EMAIL_USE_TLS": "false",
        }
        served = stack.enter_context(
            serving_as_documented(project.path, image, deployer, release=False, overrides=mail)
        )
        for email in (reset_email, "nobody@example.com"):
            reply = Visitor(served.base_url).send_form(
                "/accounts/password/reset/", {"email": email}, "mail server hangs", 302
            )
            assert reply[1]["location"] == "/accounts/password/reset/done/"

    for hung in (False, True):
        with serving_with_redis_fault(project.path, image, deployer, hung=hung) as (
            fault,
            served,
        ):
            check_readiness_names(served.base_url, fault, "redis")
            check_cases(served.base_url, fault, [Case("/", 200), Case("/accounts/login/", 200)])
            sign_up(served.base_url, login_by, fault)
            check_guessing_is_held_back_in_memory(served.base_url, fault)

    check_untrusted_proxy_ignored_by_throttling(project.path, image, services)


def check_guessing_is_held_back_in_memory(base_url: str, fault: str) -> None:
    """With Redis failing, each worker counts in its own memory: a guesser from one address is
    still refused, after at most 5 guesses on each worker (gunicorn's default: cores + 1) in
    each window. django-ratelimit counts in fixed windows, and hung Redis costs each worker
    seconds on its first attempt: one window may end during the guesses and start every
    worker's count again, so they are allowed twice that."""
    attacker = Visitor(base_url)
    account = f"nobody-{secrets.token_hex(4)}"
    workers = (os.cpu_count() or 1) + 1
    statuses: list[int] = []
    while len(statuses) < 2 * 5 * workers + 1 and 429 not in statuses:
        statuses.append(guess(attacker, account))
    print(f"{fault}: guessing from one address {statuses}")
    assert statuses[-1] == 429, (fault, statuses)


def check_untrusted_proxy_ignored_by_throttling(
    project: Path, image: Image, services: LocalServices
) -> None:
    """With FORWARDED_ALLOW_IPS naming another address, X-Forwarded-For is ignored: two clients
    claiming different addresses share the peer's count (plain HTTP here, as nobody's
    X-Forwarded-Proto is believed either)."""
    elsewhere = Deployer(services, image, proxy="10.9.9.9")
    overrides = {
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "LOGIN_RATE_PER_CLIENT": "3/m",
        "WEB_CONCURRENCY": "1",
    }
    with serving_as_documented(
        project, image, elsewhere, release=False, overrides=overrides
    ) as served:
        first = Visitor(served.base_url, https=False)
        statuses: list[int] = []
        while len(statuses) < 2 * 3 + 1 and 429 not in statuses:  # a window may end meanwhile
            statuses.append(guess(first, f"nobody{len(statuses)}"))
        assert 429 in statuses, statuses
        second = Visitor(served.base_url, https=False)  # another X-Forwarded-For address
        second.send_form(
            "/accounts/login/",
            {"login": "nobody-else", "password": "x"},
            "untrusted X-Forwarded-For",
            429,
        )


# --- an account's life over a real SMTP server -------------------------------------------------

ACCOUNT_LIFE = {"defaults", MAXIMAL_ID}  # each flow's code path; CI's time allows no more rows


def test_generated_django_account_lives_through_its_mail_over_smtp(
    project: Generated, image: Image, services: LocalServices, request: pytest.FixtureRequest
) -> None:
    """Served as documented, its mail sent over SMTP (by the Celery worker, with celery) to a
    real server on loopback: sign up, the verification mail's link, log in and out; a reset
    requested, its mailed link, the new password logs in and the old does not; the used link
    refused; an unknown address answered as a known one."""
    if request.node.callspec.id not in ACCOUNT_LIFE:
        pytest.skip("the account's life over SMTP is proven on: " + "; ".join(sorted(ACCOUNT_LIFE)))
    login_by = str({**DEFAULTS, **project.answers}["login_by"])
    deployer = Deployer(services, image)
    with ExitStack() as stack:
        mailbox = stack.enter_context(smtp_server())
        mail = stack.enter_context(mailing_to(project, image, deployer, mailbox))
        served = stack.enter_context(
            serving_as_documented(project.path, image, deployer, overrides=mail)
        )
        base_url = served.base_url
        name = sign_up(base_url, login_by, "account life", mailbox)  # verified and logged in
        login, email = login_name(login_by, name), f"{name}@example.com"

        visitor = log_in(base_url, login, PASSWORD, "account life")
        visitor.send_form("/accounts/logout/", {}, "log out", 302)
        assert not visitor.logged_in()

        after = len(mailbox.messages)
        reset = Visitor(base_url).send_form("/accounts/password/reset/", {"email": email})
        assert reset[1]["location"] == "/accounts/password/reset/done/"
        mailed = full_link(mailbox, email, "/accounts/password/reset/key/", after)
        assert mailed.startswith(DOCUMENTED_SITE_URL + "/"), mailed
        link = path_of(mailed)
        browser = Visitor(base_url)
        status, headers, _, _ = browser.request("GET", link)  # the key moves into the session
        assert status == 302, status
        new_password = secrets.token_urlsafe(16)
        form = {"password1": new_password, "password2": new_password}
        browser.send_form(headers["location"], form, "reset link", 302)

        assert log_in(base_url, login, new_password, "new password").logged_in()
        assert not log_in(base_url, login, PASSWORD, "old password", 200).logged_in()
        status, _, body, _ = Visitor(base_url).request("GET", link)
        assert status == 200 and b"invalid" in body, (status, body[:500])  # used: refused

        unknown = Visitor(base_url).send_form(
            "/accounts/password/reset/", {"email": f"nobody-{name}@example.com"}
        )
        assert (unknown[0], unknown[1]["location"]) == (reset[0], reset[1]["location"])
