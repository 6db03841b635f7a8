"""The Flask template, proven as it runs: defaults, no extensions, every extension, and a
pairwise set over the extensions and the database.

Each combination is generated with `stackwise new` (rendered, locked, committed). Then a fresh
clone passes its CI workflow as written (lint, format, mypy, `flask db upgrade` and `flask db
check` where Flask-Migrate is chosen, its own suite on the real PostgreSQL and Redis it uses);
the image replayed from its Dockerfile runs the README's release command and serves the
production config (HTTPS, HSTS, no start without a secret); every compose service runs the
production config and passes the healthcheck that applies to it; bandit, hadolint and
actionlint pass. On a bad day the image's server holds up: Redis down or hanging, two workers,
a password guesser behind the proxy, two users, a stranger, and an untrusted peer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import struct
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.templates.as_run import (
    HTTPS,
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
    serving_as_documented,
    serving_with_redis_fault,
    silent_listener,
)
from tests.templates.combinations import (
    FLASK_EXTENSIONS,
    HOSTILE_ANSWERS,
    Answers,
    as_params,
    hostile_id,
    pairwise,
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
        "from wsgi import app; c = app.config; "
        "print(c['SESSION_COOKIE_SECURE'], c['DEBUG'], c['TESTING'])",
    ],
    "True False False",
)

EXTENSIONS = FLASK_EXTENSIONS
DEFAULT_EXTENSIONS = ["sqlalchemy", "migrate", "wtf"]
# What an extension needs, as the template's own validator states it.
NEEDS = {"migrate": "sqlalchemy", "login": "sqlalchemy", "admin": "login"}
# `login` throttles with Flask-Limiter, whose counters live in Redis when REDIS_URL is set.
REDIS_USERS = {"celery", "caching", "limiter", "login"}
# Extensions with rate limits: gunicorn refuses several workers without REDIS_URL.
THROTTLERS = {"limiter", "login"}
# The guide's simple microservice: the API without a database, with every extension it can take.
MICROSERVICE = ["api", "cors", "limiter", "caching", "talisman", "celery"]


def accepted(row: Answers) -> bool:
    needs = [*NEEDS.items(), ("login", "wtf")]
    return all(row[needer] <= row[needed] for needer, needed in needs)


def answers_for(row: Answers) -> Answers:
    return {
        "extensions": [name for name in EXTENSIONS if row[name]],
        "database": row["database"],
    }


OPTIONS = {**{name: [False, True] for name in EXTENSIONS}, "database": ["sqlite", "postgres"]}
# The template's defaults (no answers), no extensions, every extension, then the pairwise rows.
FIXED: list[Answers] = [
    {},
    {"extensions": [], "database": "sqlite"},
    {"extensions": EXTENSIONS, "database": "postgres", "observability": True, "sentry": True},
    {
        **HOSTILE_ANSWERS,
        "extensions": ["sqlalchemy", "migrate", "login", "wtf", "admin", "caching"],
        # The account answers that are not the defaults: logging in waits for the emailed
        # link, and asks for a code from an authenticator app.
        "email_verification": "mandatory",
        "mfa": True,
        "observability": True,  # without Celery or Sentry
    },
    {"extensions": MICROSERVICE, "database": "postgres"},  # the database answer is unused
    # Accounts without an API or Celery, and an API with Celery but no accounts, on SQLite:
    # the Redis-fault proofs take other paths through each.
    {"extensions": ["sqlalchemy", "migrate", "login", "wtf", "admin", "talisman"]},
    {"extensions": ["sqlalchemy", "migrate", "api", "cors", "talisman", "celery"]},
]


def row_for(answers: Answers) -> Answers:
    """The pairwise row of a combination's answers (the opposite of `answers_for`)."""
    chosen = answers.get("extensions", DEFAULT_EXTENSIONS)
    return {
        **{name: name in chosen for name in EXTENSIONS},
        "database": answers.get("database", "sqlite"),
    }


# The pairwise rows cover the pairs of values the fixed rows leave out.
COMBINATIONS = FIXED + [
    answers_for(row) for row in pairwise(OPTIONS, accepted, covered=[row_for(a) for a in FIXED])
]


def combination_id(answers: Answers) -> str:
    if not answers:
        return "defaults"
    if hostile := hostile_id(answers):
        return hostile
    names = answers["extensions"]
    label = "all" if names == EXTENSIONS else "+".join(names) or "none"
    return f"{label}-{answers.get('database', 'sqlite')}"


@pytest.fixture(scope="module", params=as_params("flask", COMBINATIONS, combination_id))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    destination = tmp_path_factory.mktemp("flask") / "shop"
    return generate(destination, {"framework": "flask", **request.param})


def extensions(project: Generated) -> list[str]:
    return list(project.answers["extensions"])


def stores_items(chosen: list[str]) -> bool:
    """The API's example resource is items in the database; without one it prices orders
    (`POST /api/quotes`), storing nothing, which anyone may ask."""
    return {"api", "sqlalchemy"} <= set(chosen)


@pytest.fixture
def services(project: Generated) -> Iterator[LocalServices]:
    chosen = extensions(project)
    postgres = "sqlalchemy" in chosen and project.answers["database"] == "postgres"
    with local_services(postgres=postgres, redis=bool(REDIS_USERS & set(chosen))) as up:
        yield up


def test_generated_flask_project_passes_its_ci_workflow_as_written(
    project: Generated, services: LocalServices, tmp_path: Path
) -> None:
    check_ci_workflow(project.path, tmp_path, services)


def test_generated_flask_image_serves_production_as_built(
    project: Generated, image: Image, services: LocalServices
) -> None:
    deployer = Deployer(services, image)
    observability = project.answers.get("observability", False)
    # Metrics are summed over the workers: two of them share the requests.
    workers = {"WEB_CONCURRENCY": "2"} if observability else {}

    with serving_as_documented(project.path, image, deployer, overrides=workers) as served:
        check_production_web(served.base_url, "/")
        check_name_shown_as_text(served.base_url, "/", project.answers["project_name"])
        if observability:
            check_observability(served, "/", route="/")

        if "api" in extensions(project):
            check_api_as_built(served.base_url, extensions(project))

    check_refuses_without("SECRET_KEY", image, image.cmd, served.env)
    if "login" in extensions(project):  # links in mail never take the request's Host
        check_refuses_without("SITE_URL", image, image.cmd, served.env)
    if stores_items(extensions(project)) and "login" not in extensions(project):
        check_refuses_without("API_SECRET_KEY", image, image.cmd, served.env)
    if THROTTLERS & set(extensions(project)):  # rate limits counted per worker without Redis
        several = {**served.env, "WEB_CONCURRENCY": "3"}
        check_refuses_without("REDIS_URL", image, image.cmd, several)
    check_untrusted_proxy_is_ignored(project.path, image, services, "/")
    workers = documented_services(project.path, image, deployer)
    check_services(workers, image, "/", SETTINGS)
    assert len(workers) == ("celery" in extensions(project))
    if "sqlalchemy" in extensions(project) and project.answers.get("database") == "postgres":
        data = ["/api/items"] if "api" in extensions(project) else []
        check_database_outage(project.path, image, deployer, data)
        # The API's reads need no log-in; the tables exist where the release command migrates.
        if data and "migrate" in extensions(project):
            check_database_lock(project.path, image, deployer, "items", data)


def test_generated_flask_compose_services_run_production(
    project: Generated, image: Image, services: LocalServices
) -> None:
    services_of_compose = compose_services(project.path, image, Deployer(services, image))
    check_services(services_of_compose, image, "/", SETTINGS)
    names = [service.name for service in services_of_compose]

    assert names == (["web", "worker"] if "celery" in extensions(project) else ["web"])


def test_generated_flask_development_stack_reloads_and_mails_mailpit(
    request: pytest.FixtureRequest, project: Generated, image: Image, services: LocalServices
) -> None:
    on_rows_only(request, {"defaults", "all-postgres"}, "the development stack's proof")
    composed = compose_services(project.path, image, Deployer(services, image), development=True)
    mail = "login" in extensions(project)  # account mail, the only mail the app sends
    settings = "c['DEBUG'], c['SESSION_COOKIE_SECURE']"
    probe = SettingsProbe(
        [
            "python",
            "-c",
            f"from wsgi import app; c = app.config; print({settings}"
            + (", c['MAIL_BACKEND'], c['MAIL_SERVER'], c['MAIL_PORT'])" if mail else ")"),
        ],
        "True False" + (" smtp mailpit 1025" if mail else ""),
    )
    web = next(service for service in composed if service.name == "web")

    check_development_web(project.path, web, image, "/", "wsgi.py", probe)


def test_generated_flask_code_has_no_medium_or_high_bandit_finding(project: Generated) -> None:
    check_bandit(project.path)


def test_generated_flask_dockerfile_and_workflow_lint_clean(project: Generated) -> None:
    check_deployment_files(project.path)


# --- a bad day: Redis down or hanging, two workers, a guesser, two users and a stranger --------

PASSWORD = secrets.token_urlsafe(16)
WRONG = secrets.token_urlsafe(16)  # a guess
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
TOKEN = re.compile(rb'name="csrf[-_]token"[^>]*(?:value|content)="([^"]+)"')


@dataclass
class Browser:
    """A visitor behind the trusted proxy: its own client address (X-Forwarded-For) and session
    cookie (sent although it is Secure: the proxy terminated TLS), and the Referer a browser
    sends, which Flask-WTF checks on HTTPS."""

    base_url: str
    address: str
    cookie: str = ""

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        host = urllib.parse.urlsplit(self.base_url).netloc
        headers = {**HTTPS, "X-Forwarded-For": self.address, "Referer": f"https://{host}/"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        return {**headers, **(extra or {})}

    def ask(
        self, path: str, method: str = "GET", body: bytes | None = None, **extra: str
    ) -> tuple[int, dict[str, str], bytes]:
        status, headers, said = http_response(
            self.base_url + path, self.headers(extra), timeout=30, method=method, body=body
        )
        if "set-cookie" in headers:
            self.cookie = headers["set-cookie"].split(";")[0]
        return status, headers, said

    def token(self, page: str) -> str:
        status, _, body = self.ask(page)
        found = TOKEN.search(body)
        assert found, f"no CSRF token on {page} ({status})"
        return found[1].decode()

    def form(self, page: str, **fields: str) -> bytes:
        return urllib.parse.urlencode({"csrf_token": self.token(page), **fields}).encode()

    def submit(self, page: str, **fields: str) -> int:
        return self.ask(page, "POST", self.form(page, **fields), **FORM)[0]


def signed_up(base_url: str, email: str, address: str) -> Browser:
    """A visitor who signed up and logged in (sign-up answers alike whether the email is taken
    or not, so it never logs in itself; these rows do not wait for the emailed link)."""
    browser = Browser(base_url, address)
    status = browser.submit("/auth/register", email=email, password=PASSWORD, confirm=PASSWORD)
    assert status == 302, f"sign-up of {email}: {status}"
    status = browser.submit("/auth/login", email=email, password=PASSWORD)
    assert status == 302, f"log-in of {email}: {status}"
    return browser


def check_log_ins(base_url: str, fault: str, tries: list[tuple[Browser, str, str, int]]) -> None:
    """Each browser logs in with its email and password and gets its status, in time."""
    cases = []
    for browser, email, password, status in tries:
        body = browser.form("/auth/login", email=email, password=password)  # sets its cookie
        cases.append(Case("/auth/login", status, "POST", browser.headers(FORM), body, bound=5))
    check_cases(base_url, fault, cases)


def new_item() -> bytes:
    return json.dumps({"name": f"item {secrets.token_hex(4)}"}).encode()


# An order for the database-free API, and the total its quote must show.
ORDER = json.dumps({"lines": [{"name": "Lamp", "unit_price": "3.35", "quantity": 3}]}).encode()
ORDER_TOTAL = "10.05"


def check_api_as_built(base_url: str, chosen: list[str]) -> None:
    """The image serves the API's OpenAPI document behind the proxy; without a database its
    example prices an order, in any worker, with no key."""
    status, _, body = http_response(f"{base_url}/api/openapi.json", HTTPS)
    assert status == 200, status
    paths = json.loads(body)["paths"]
    assert ("/api/items" if stores_items(chosen) else "/api/quotes") in paths, list(paths)
    if not stores_items(chosen):
        status, _, body = http_response(
            f"{base_url}/api/quotes", {**HTTPS, **JSON}, method="POST", body=ORDER
        )
        assert status == 200, body[:500]
        assert json.loads(body)["total"] == ORDER_TOTAL


def writes_as(browser: Browser) -> dict[str, str]:
    """What a page of the site sends with an API write: the session and the page's CSRF token."""
    return browser.headers({**JSON, "X-CSRFToken": browser.token("/account")})


def check_redis_fault(project: Generated, image: Image, deployer: Deployer, hung: bool) -> None:
    """REDIS_URL at a closed port (down) or at a listener that never answers (hung): pages answer
    200 within the bound (limits counted in memory, the cache missing, a task logged as not
    sent), liveness at once, readiness 503 naming redis."""
    chosen = extensions(project)
    with serving_with_redis_fault(project.path, image, deployer, hung=hung) as (fault, served):
        base_url = served.base_url
        cases = [Case("/", 200)]
        if "caching" in chosen:
            cases.append(Case("/about", 200))
        check_cases(base_url, fault, cases)
        if "login" in chosen and "migrate" in chosen:
            email = f"{fault.replace(' ', '-')}-{secrets.token_hex(4)}@example.com"
            visitor = Browser(base_url, "198.51.100.20")
            body = visitor.form("/auth/register", email=email, password=PASSWORD, confirm=PASSWORD)
            check_cases(
                base_url,
                fault,
                [Case("/auth/register", 302, "POST", visitor.headers(FORM), body)],
            )
            assert visitor.submit("/auth/login", email=email, password=PASSWORD) == 302
            if "api" in chosen:
                check_cases(
                    base_url,
                    fault,
                    [Case("/api/items", 201, "POST", writes_as(visitor), new_item())],
                )
        if "api" in chosen and not stores_items(chosen):  # limits counted in memory
            check_cases(base_url, fault, [Case("/api/quotes", 200, "POST", JSON, ORDER)])
        if {"api", "migrate"} <= set(chosen) and "login" not in chosen:  # a task with Celery
            key = {"Authorization": f"Bearer {served.env['API_SECRET_KEY']}", **JSON}
            check_cases(base_url, fault, [Case("/api/items", 201, "POST", key, new_item())])
        check_readiness_names(base_url, fault, "redis")


# Every extension; log-in without Flask-Limiter chosen; the API key with Celery; Redis users
# without a database (the microservice).
BAD_DAY = {
    "all-postgres",
    "sqlalchemy+migrate+login+wtf+admin+talisman-sqlite",
    "sqlalchemy+migrate+api+cors+talisman+celery-sqlite",
    "api+cors+limiter+caching+talisman+celery-postgres",
}


def test_generated_flask_image_holds_up_when_redis_fails(
    project: Generated, image: Image, services: LocalServices, request: pytest.FixtureRequest
) -> None:
    on_a_bad_day_only(request, BAD_DAY)
    if not REDIS_USERS & set(extensions(project)):
        pytest.skip("this combination does not use Redis")
    deployer = Deployer(services, image)
    check_redis_fault(project, image, deployer, hung=False)
    check_redis_fault(project, image, deployer, hung=True)


def test_generated_flask_image_keeps_users_apart(
    project: Generated, image: Image, services: LocalServices, request: pytest.FixtureRequest
) -> None:
    """Two workers sharing Redis: a session works on either; a stranger guessing one account's
    password from one client is throttled on that client while the owner still logs in from
    another; guessing spread over many clients is throttled for that account, not for other
    accounts; one user cannot change another's item; a stranger cannot write; an untrusted
    peer's X-Forwarded-For is ignored."""
    on_a_bad_day_only(request, BAD_DAY)
    chosen = extensions(project)
    login = "login" in chosen and "migrate" in chosen
    if not (login or stores_items(chosen)):
        pytest.skip("no users and no stored data in this combination")
    deployer = Deployer(services, image)
    overrides = {"WEB_CONCURRENCY": "2"}
    anonymous = Case("/api/items", 401, "POST", JSON, new_item(), bound=5)
    with serving_as_documented(project.path, image, deployer, overrides=overrides) as served:
        base_url = served.base_url
        if stores_items(chosen) and "login" not in chosen:
            key = {"Authorization": f"Bearer {served.env['API_SECRET_KEY']}", **JSON}
            check_cases(base_url, "a stranger writes", [anonymous])
            if "migrate" not in chosen:
                return  # no tables to write to: the README's release command makes them
            check_cases(
                base_url,
                "the key writes",
                [Case("/api/items", 201, "POST", key, new_item(), bound=5)],
            )
            return
        if not login:  # the API with `login` but no migrations to make the users table
            check_cases(base_url, "a stranger writes", [anonymous])
            return
        run = secrets.token_hex(4)  # addresses of their own: a SQLite file outlives one server
        alice_email, bob_email = f"alice-{run}@example.com", f"bob-{run}@example.com"
        alice = signed_up(base_url, alice_email, "198.51.100.1")
        bob = signed_up(base_url, bob_email, "198.51.100.2")
        account = Case("/account", 200, headers={"Cookie": alice.cookie}, bound=5)
        check_cases(base_url, "two workers", [account] * 10)

        # A stranger guesses alice's password from one client (A): five wrong tries are
        # answered, the sixth is refused; alice, from her own client (B), still logs in.
        stranger = Browser(base_url, "203.0.113.1")
        guess = stranger.form("/auth/login", email=alice_email.upper(), password=WRONG)
        guesses = [stranger.ask("/auth/login", "POST", guess, **FORM)[0] for _ in range(5)]
        assert guesses == [200] * 5, guesses  # the form again, "Wrong email or password."
        check_log_ins(
            base_url,
            "a stranger guesses from one client",
            [
                (stranger, alice_email, WRONG, 429),
                (Browser(base_url, "198.51.100.9"), alice_email, PASSWORD, 302),
            ],
        )

        # Guessing bob's password spread over ten clients: the eleventh try on his account is
        # refused, from anywhere and with the right password; another account is let in.
        guesser = Browser(base_url, "203.0.113.10")
        guess = guesser.form("/auth/login", email=bob_email.upper(), password=WRONG)
        guesses = [
            guesser.ask(
                "/auth/login", "POST", guess, **FORM, **{"X-Forwarded-For": f"203.0.113.{n}"}
            )[0]
            for n in range(10, 20)
        ]
        assert guesses == [200] * 10, guesses
        check_log_ins(
            base_url,
            "guessing spread over clients",
            [
                (Browser(base_url, "198.51.100.10"), bob_email, PASSWORD, 429),
                (Browser(base_url, "203.0.113.20"), alice_email, PASSWORD, 302),
            ],
        )

        if "api" in chosen:
            status, _, body = alice.ask("/api/items", "POST", new_item(), **writes_as(alice))
            assert status == 201, body
            item = f"/api/items/{json.loads(body)['id']}"
            change = b'{"quantity": 1}'
            check_cases(
                base_url,
                "another user's item",
                [
                    Case(item, 403, "PATCH", writes_as(bob), change, bound=5),
                    Case(item, 403, "DELETE", writes_as(bob), bound=5),
                    anonymous,
                    Case(item, 200, "PATCH", writes_as(alice), change, bound=5),
                ],
            )

    # A peer that is not the named proxy: its X-Forwarded-For is ignored, so every "client"
    # it claims shares its bucket (plain HTTP here: its X-Forwarded-Proto is ignored too).
    untrusted = {"FORWARDED_ALLOW_IPS": "10.9.9.9", "FORCE_HTTPS": "false"}
    untrusted["LOGIN_LIMIT_PER_CLIENT"] = "3 per minute"
    with serving_as_documented(
        project.path, image, deployer, release=False, overrides=untrusted
    ) as served:
        claims = [Browser(served.base_url, f"192.0.2.{n}") for n in range(1, 5)]
        statuses = [
            claim.submit("/auth/login", email=f"nobody-{n}@example.com", password=WRONG)
            for n, claim in enumerate(claims)
        ]
    assert statuses == [200, 200, 200, 429], statuses

    # FORWARDED_ALLOW_IPS=*: the peer is taken for the proxy, but what a client writes to the
    # left of the proxy's own entry is not believed; an IPv6 client is counted by its /64.
    star = {"FORWARDED_ALLOW_IPS": "*", "LOGIN_LIMIT_PER_CLIENT": "3 per minute"}
    star["WEB_CONCURRENCY"] = "1"  # one worker counts, with or without Redis
    client = f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    network = f"2001:db8:{secrets.token_hex(2)}:0"
    with serving_as_documented(
        project.path, image, deployer, release=False, overrides=star
    ) as served:
        for fault, claims in (
            (
                "FORWARDED_ALLOW_IPS=*, made-up entries",
                [f"192.0.2.{n}, {client}" for n in range(4)],
            ),
            ("an IPv6 client's /64", [f"{network}::{n:x}" for n in range(1, 5)]),
        ):
            browsers = [Browser(served.base_url, claim) for claim in claims]
            email = f"nobody-{secrets.token_hex(4)}@example.com"
            statuses = [
                b.submit("/auth/login", email=f"{n}{email}", password=WRONG)
                for n, b in enumerate(browsers[:3])
            ]
            assert statuses == [200, 200, 200], (fault, statuses)
            check_log_ins(served.base_url, fault, [(browsers[3], email, WRONG, 429)])


# --- the account flows over HTTP, with the mail sent over SMTP as in production --------------

# Every extension (Celery sends the mail from its worker, on PostgreSQL and Redis); and logging
# in that waits for the emailed link and asks for a TOTP code (the hostile answers' row).
ACCOUNT_FLOWS = {"all-postgres", "hostile-answers"}
# Where the links in mail point (production requires SITE_URL); the proof follows them on the
# served address.
SITE_URL = "https://flask.example.test"
NEW_PASSWORD = secrets.token_urlsafe(16)
KEY = re.compile(rb"Key: <code>([A-Z2-7]+)</code>")
RECOVERY_CODE = re.compile(rb"<code>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</code>")


def totp(secret: str, at: float) -> str:
    """RFC 6238 as authenticator apps compute it: HMAC-SHA1 of the 30-second step, six digits."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def mailed_link(mailbox: Mailbox, to: str, after: int, prefix: str) -> str:
    """The path of the first link under `prefix` in the next mail to `to`: a link on SITE_URL,
    never on the host the request named."""
    link = first_link(mailbox, to, lambda link: link.startswith(SITE_URL + prefix), after)
    return link.removeprefix(SITE_URL)


def status_of(browser: Browser, path: str) -> int:
    return browser.ask(path)[0]


def check_account_flows(base_url: str, mailbox: Mailbox, answers: Mapping[str, object]) -> None:
    """Sign up, the verification mail and its link (logging in waits for it where it is
    mandatory), log in (turning two-factor on, with MFA); a reset request, its mail and link,
    the new password; the used link and the old password refused; an unknown email answered
    alike and mailed nothing; the new password logs in (with a recovery code, with MFA)."""
    mandatory = answers.get("email_verification") == "mandatory"
    mfa = answers.get("mfa") is True
    email = f"Grace-{secrets.token_hex(4)}@Example.com"  # stored and mailed lower-cased
    to = email.lower()
    visitor = Browser(base_url, "198.51.100.30")

    assert visitor.submit("/auth/register", email=email, password=PASSWORD, confirm=PASSWORD) == 302
    verify = mailed_link(mailbox, to, 0, "/auth/verify/")
    if mandatory:  # no log-in before the link is followed
        sent = len(mailbox.messages)
        assert visitor.submit("/auth/login", email=to, password=PASSWORD) == 200
        mailbox.wait_for(to, after=sent)  # a fresh link
    assert status_of(visitor, verify) == 200  # a mail scanner opening it confirms nothing
    assert visitor.submit(verify) == 302  # the button does
    assert visitor.submit("/auth/login", email=email, password=PASSWORD) == 302
    assert status_of(visitor, "/account") == 200

    if mfa:  # turn two-factor log-in on, as a person does with an authenticator app
        page = visitor.ask("/auth/two-factor")[2]
        found = KEY.search(page)
        assert found and b"<svg" in page, page[:2000]
        secret = found[1].decode()
        confirmed = visitor.ask(
            "/auth/two-factor",
            "POST",
            visitor.form("/auth/two-factor", password=PASSWORD, code=totp(secret, time.time())),
            **FORM,
        )
        assert confirmed[0] == 200, confirmed[2][:2000]
        recovery = [code.decode() for code in RECOVERY_CODE.findall(confirmed[2])]
        assert len(recovery) == 10
    assert visitor.ask("/auth/logout", "POST", visitor.form("/account"), **FORM)[0] == 302

    # A reset: the same answer for an unknown email, which is mailed nothing.
    stranger = Browser(base_url, "198.51.100.31")
    unknown = f"nobody-{secrets.token_hex(4)}@example.com"
    before = len(mailbox.messages)
    known_answer = stranger.ask(
        "/auth/reset", "POST", stranger.form("/auth/reset", email=to), **FORM
    )
    unknown_answer = stranger.ask(
        "/auth/reset", "POST", stranger.form("/auth/reset", email=unknown), **FORM
    )
    assert known_answer[0] == unknown_answer[0] == 302
    assert known_answer[1]["location"] == unknown_answer[1]["location"]
    reset = mailed_link(mailbox, to, before, "/auth/reset/")
    assert status_of(stranger, reset) == 200
    assert stranger.submit(reset, password=NEW_PASSWORD, confirm=NEW_PASSWORD) == 302
    assert status_of(stranger, reset) == 400  # used: the password it was sent for changed
    assert mailbox.sent_to(unknown) == []

    # The old password is refused, the new one logs in (with a recovery code, once).
    returning = Browser(base_url, "198.51.100.32")
    assert returning.submit("/auth/login", email=to, password=PASSWORD) == 200
    status, headers, _ = returning.ask(
        "/auth/login",
        "POST",
        returning.form("/auth/login", email=to, password=NEW_PASSWORD),
        **FORM,
    )
    assert status == 302
    if mfa:
        assert headers["location"].endswith("/auth/two-factor/code"), headers
        assert status_of(returning, "/account") == 302  # not logged in before the code
        assert returning.submit("/auth/two-factor/code", code=recovery[0]) == 302
    assert status_of(returning, "/account") == 200


def test_generated_flask_account_flows_run_over_smtp(
    project: Generated, image: Image, services: LocalServices, request: pytest.FixtureRequest
) -> None:
    """The image served as documented, its mail sent to a real SMTP server on loopback (with
    Celery, by the README's worker), and every account flow followed over HTTP. Then a mail
    server that accepts connections and never answers: a sign-up still answers in time."""
    if request.node.callspec.id not in ACCOUNT_FLOWS:
        pytest.skip("the account flows run on: " + "; ".join(sorted(ACCOUNT_FLOWS)))
    deployer = Deployer(services, image)
    with smtp_server() as mailbox:
        mail = {
            "MAIL_SERVER": mailbox.host,
            "MAIL_PORT": str(mailbox.port),
            "MAIL_USE_TLS": "false",
            "SITE_URL": SITE_URL,
        }
        workers = documented_services(project.path, image, deployer)
        with contextlib.ExitStack() as running:
            for worker in workers:
                running.enter_context(image.start(worker.command, {**worker.env, **mail}))
            with serving_as_documented(project.path, image, deployer, overrides=mail) as served:
                check_account_flows(served.base_url, mailbox, project.answers)

    with silent_listener() as port:
        hung = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "MAIL_USE_TLS": "false"}
        with serving_as_documented(
            project.path, image, deployer, release=False, overrides=hung
        ) as served:
            visitor = Browser(served.base_url, "198.51.100.40")
            email = f"hung-{secrets.token_hex(4)}@example.com"
            body = visitor.form("/auth/register", email=email, password=PASSWORD, confirm=PASSWORD)
            check_cases(
                served.base_url,
                "the mail server hangs",
                [Case("/auth/register", 302, "POST", visitor.headers(FORM), body)],
            )
