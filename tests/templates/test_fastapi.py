"""The FastAPI template, proven as it runs, for its defaults, every option at once and a pairwise
set of combinations.

Each combination is generated with `stackwise new` (rendered, locked, committed). Then a fresh
clone passes its CI workflow as written (lint, format, mypy --strict, `alembic upgrade head` and
`alembic check`, its own suite on the real PostgreSQL and Redis it uses); the image replayed from
its Dockerfile runs the README's release command and serves production settings (HTTPS, HSTS, no
start without a secret), its docs and, behind the proxy, survives a bounded schemathesis run
with no 5xx; every compose service (web, worker) runs production settings and passes the
healthcheck that applies to it; bandit, hadolint and actionlint pass. On a bad day the image's
server holds up: with Redis down or hanging, items are still created (201) in time while liveness
answers at once and readiness names redis; with two workers a token works on either; password
guessing is throttled per account and client, per account and per client (by the trusted
proxy's X-Forwarded-For, and only its), and a stranger's guesses never lock the owner out; one
user cannot change another's item and a stranger cannot write. The account flows run over HTTP
against a real SMTP server on loopback, as deployed (SMTP_HOST from the README): sign up, the
verification mail and its link, log in, refresh and its reuse refused, a reset mail, its link,
the new password, the spent link refused; with mandatory verification and MFA too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.templates.as_run import (
    HTTPS,
    LIVENESS_BOUND,
    Case,
    Deployer,
    Image,
    LocalServices,
    SettingsProbe,
    build_image,
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
    http_get,
    http_response,
    local_services,
    remove_image,
    serving_as_documented,
    serving_with_redis_fault,
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
from tests.templates.mail import Mailbox, links, smtp_server
from tests.templates.rooms import check_rooms_across_instances, check_rooms_as_documented

pytestmark = pytest.mark.templates

# Prints the settings in effect; every process of the image must print production's.
SETTINGS = SettingsProbe(
    ["python", "-c", "from app.core.config import get_settings; print(get_settings().environment)"],
    "production",
)

DEFAULTS: Answers = {
    "admin": "none",
    "auth": "jwt",
    "background": "none",
    "database": "sqlite",
    "ml_serving": False,
    "websockets": False,
}
OPTIONS = {
    "admin": ["none", "sqladmin"],
    "auth": ["jwt", "none"],
    "background": ["none", "celery"],
    "database": ["sqlite", "postgres"],
    "ml_serving": [False, True],
    "websockets": [False, True],
}


def accepted(row: Answers) -> bool:
    """The template refuses an admin UI without users to log in with."""
    return not (row["admin"] == "sqladmin" and row["auth"] == "none")


# Every option on at once, for the gates that must hold at both ends (security, fuzzing).
MAXIMAL: Answers = {
    "admin": "sqladmin",
    "auth": "jwt",
    "background": "celery",
    "database": "postgres",
    "ml_serving": True,
    "websockets": True,
    "observability": True,
    "sentry": True,
}
# An API without accounts: its throttles, rooms and Celery on Redis take other paths.
NO_ACCOUNTS: Answers = {
    "admin": "none",
    "auth": "none",
    "background": "celery",
    "database": "postgres",
    "ml_serving": True,
    "websockets": True,
}
# The defaults come from copier.yml itself (no answers given); the pairwise rows follow, for the
# pairs of values these rows leave out.
FIXED: list[Answers] = [
    {},
    MAXIMAL,
    # observability without Celery, on SQLite
    {**HOSTILE_ANSWERS, "admin": "sqladmin", "websockets": True, "observability": True},
    NO_ACCOUNTS,
]
COMBINATIONS = FIXED + pairwise(OPTIONS, accepted, covered=[{**DEFAULTS, **row} for row in FIXED])
FUZZ_EXAMPLES = 25  # per operation and phase: enough to find a 5xx, bounded in time


@pytest.fixture(
    scope="module",
    params=as_params(
        "fastapi", COMBINATIONS, lambda row: hostile_id(row) or row_id(row) or "defaults"
    ),
)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    destination = tmp_path_factory.mktemp("fastapi") / "inventory"
    return generate(destination, {"framework": "fastapi", **request.param})


@pytest.fixture
def services(project: Generated) -> Iterator[LocalServices]:
    answers = {**DEFAULTS, **project.answers}
    postgres, celery = answers["database"] == "postgres", answers["background"] == "celery"
    # Redis also for auth=jwt and rooms: the login throttles and the rooms' relay are proven
    # with the shared store.
    redis = celery or answers["auth"] == "jwt" or answers["websockets"]
    with local_services(postgres=postgres, redis=redis) as up:
        yield up


def test_generated_fastapi_project_passes_its_ci_workflow_as_written(
    project: Generated, services: LocalServices, tmp_path: Path
) -> None:
    check_ci_workflow(project.path, tmp_path, services)


def bearer_token(base_url: str) -> str:
    """Register a user on the running service and log in: the token the fuzzer sends."""
    credentials = {"email": "fuzz@example.com", "password": secrets.token_urlsafe(16)}
    register = urllib.request.Request(  # noqa: S310 (loopback)
        f"{base_url}/auth/register",
        data=json.dumps(credentials).encode(),
        headers={"Content-Type": "application/json", **HTTPS},
    )
    urllib.request.urlopen(register, timeout=5).close()  # noqa: S310
    form = f"username={credentials['email']}&password={credentials['password']}".encode()
    token = urllib.request.Request(f"{base_url}/auth/token", data=form, headers=HTTPS)  # noqa: S310
    with urllib.request.urlopen(token, timeout=5) as response:  # noqa: S310
        return str(json.load(response)["access_token"])


def fuzz(base_url: str, headers: dict[str, str], workdir: Path) -> str:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(FUZZ_EXAMPLES),
        "--seed",
        "20261125",
        "--workers",
        "1",
        "--no-color",
        "--warnings",
        "off",  # schema-quality hints; this gate is about server errors
        *(arg for name, value in headers.items() for arg in ("--header", f"{name}: {value}")),
    ]
    completed = subprocess.run(  # in workdir: schemathesis leaves a cache directory behind
        command, cwd=workdir, capture_output=True, text=True, timeout=600, check=False
    )
    assert completed.returncode == 0, f"schemathesis found failures:\n{completed.stdout[-6000:]}"
    return completed.stdout


def test_generated_fastapi_image_serves_production_and_survives_fuzzing(
    project: Generated, image: Image, services: LocalServices, tmp_path: Path
) -> None:
    answers = {**DEFAULTS, **project.answers}
    deployer = Deployer(services, image)
    observability = project.answers.get("observability", False)
    # Metrics are summed over the workers: two of them share the requests.
    workers = {"WEB_CONCURRENCY": "2"} if observability else {}

    with serving_as_documented(project.path, image, deployer, overrides=workers) as served:
        base_url = served.base_url
        check_production_web(base_url, "/docs")
        if observability:
            check_observability(served, "/items", route="/items")
        check_name_shown_as_text(base_url, "/docs", project.answers["project_name"])
        status, schema = http_get(f"{base_url}/openapi.json", HTTPS)
        assert status == 200
        assert json.loads(schema)["info"]["title"] == project.answers["project_name"]
        assert http_get(f"{base_url}/redoc", HTTPS)[0] == 200
        if answers["admin"] == "sqladmin":
            assert http_get(f"{base_url}/admin/login", HTTPS)[0] == 200
        headers = dict(HTTPS)
        if answers["auth"] == "jwt":
            headers["Authorization"] = f"Bearer {bearer_token(base_url)}"
        else:
            headers["Authorization"] = f"Bearer {served.env['API_SECRET_KEY']}"
        report = fuzz(base_url, headers, tmp_path)
    if answers["websockets"]:
        jwt = answers["auth"] == "jwt"
        token = headers["Authorization"].removeprefix("Bearer ") if jwt else None
        check_rooms_as_documented(project.path, image, deployer, token)

    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated and int(generated[1]) > 0 and generated[1] == generated[2], report
    check_refuses_without(
        "SECRET_KEY" if answers["auth"] == "jwt" else "API_SECRET_KEY", image, image.cmd, served.env
    )
    if answers["websockets"] or answers["auth"] == "jwt":
        # Each worker would hold its own rooms and login counts: several workers refuse to start
        # without Redis.
        several = {**served.env, "WEB_CONCURRENCY": "3"}
        check_refuses_without("REDIS_URL", image, image.cmd, several)
    check_untrusted_proxy_is_ignored(project.path, image, services, "/docs")
    workers = documented_services(project.path, image, deployer)
    check_services(workers, image, "/docs", SETTINGS)
    assert len(workers) == (answers["background"] == "celery")
    if answers["database"] == "postgres":
        # One item, not the list: the list's pages may be answered from the cache (in Redis).
        check_database_outage(project.path, image, deployer, ["/items/1"])
        check_database_lock(project.path, image, deployer, "items", ["/items/1"])


def test_generated_fastapi_compose_services_run_production(
    project: Generated, image: Image, services: LocalServices
) -> None:
    services_of_compose = compose_services(project.path, image, Deployer(services, image))
    check_services(services_of_compose, image, "/docs", SETTINGS)
    names = [service.name for service in services_of_compose]

    celery = {**DEFAULTS, **project.answers}["background"] == "celery"
    assert names == (["web", "worker"] if celery else ["web"])


def test_generated_fastapi_development_stack_reloads_and_mails_mailpit(
    request: pytest.FixtureRequest, project: Generated, image: Image, services: LocalServices
) -> None:
    on_rows_only(request, {"defaults", row_id(MAXIMAL)}, "the development stack's proof")
    composed = compose_services(project.path, image, Deployer(services, image), development=True)
    mail = {**DEFAULTS, **project.answers}["auth"] == "jwt"  # account mail, the only mail sent
    settings = "s.environment" + (", s.smtp_host, s.smtp_port" if mail else "")
    probe = SettingsProbe(
        [
            "python",
            "-c",
            f"from app.core.config import get_settings; s = get_settings(); print({settings})",
        ],
        "development" + (" mailpit 1025" if mail else ""),
    )
    web = next(service for service in composed if service.name == "web")

    check_development_web(project.path, web, image, "/docs", "app/main.py", probe)


def test_generated_fastapi_code_has_no_medium_or_high_bandit_finding(project: Generated) -> None:
    check_bandit(project.path)


def test_generated_fastapi_dockerfile_and_workflow_lint_clean(project: Generated) -> None:
    check_deployment_files(project.path)


# --- a bad day: Redis down or hanging, two workers, a guesser, two users and a stranger --------

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PASSWORD = secrets.token_urlsafe(16)


def register(base_url: str, email: str) -> None:
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    status, _, said = http_response(
        f"{base_url}/auth/register", {**HTTPS, **JSON}, timeout=15, method="POST", body=body
    )
    assert status == 202, said


def log_in(base_url: str, email: str, password: str = PASSWORD, **headers: str) -> int:
    form = f"username={email}&password={password}".encode()
    status, _, _ = http_response(
        f"{base_url}/auth/token", {**HTTPS, **FORM, **headers}, method="POST", body=form
    )
    return status


def bearer(base_url: str, email: str) -> dict[str, str]:
    """Register `email` and log in: the headers of its requests."""
    register(base_url, email)
    form = f"username={email}&password={PASSWORD}".encode()
    status, headers, body = http_response(
        f"{base_url}/auth/token", {**HTTPS, **FORM}, timeout=15, method="POST", body=form
    )
    assert status == 200, body
    assert headers["cache-control"] == "no-store"
    return {"Authorization": f"Bearer {json.loads(body)['access_token']}"}


def writer(base_url: str, answers: Answers, served_env: dict[str, str]) -> dict[str, str]:
    if answers["auth"] == "jwt":
        return bearer(base_url, f"writer-{secrets.token_hex(4)}@example.com")
    return {"Authorization": f"Bearer {served_env['API_SECRET_KEY']}"}


def new_item() -> bytes:
    return json.dumps({"name": f"item {secrets.token_hex(4)}"}).encode()


def check_redis_fault(project: Generated, image: Image, deployer: Deployer, hung: bool) -> None:
    """REDIS_URL at a closed port (down) or at a listener that never answers (hung): the item
    is created (201) within the bound, liveness answers at once even while a publish waits,
    readiness answers 503 naming redis, and logins go on (counted in memory). With Redis hung,
    a burst of writes while the first publish waits is created in time too (publishing has
    threads of its own), and writes after the first failure skip the broker (its breaker)."""
    answers = {**DEFAULTS, **project.answers}
    with serving_with_redis_fault(project.path, image, deployer, hung=hung) as (fault, served):
        base_url = served.base_url
        started_at = time.monotonic()
        headers = writer(base_url, answers, served.env)  # a login, throttled in memory now
        assert time.monotonic() - started_at < 15, "logging in took the Redis timeout twice"
        if answers["background"] == "celery":
            write = {**headers, **JSON}
            burst = 10 if hung else 0
            with ThreadPoolExecutor(max_workers=1 + burst) as pool:
                first = pool.submit(
                    check_cases,
                    base_url,
                    fault,
                    [Case("/items", 201, "POST", write, new_item(), bound=12)],
                )
                time.sleep(0.5)  # the publish is under way
                check_cases(base_url, fault, [Case("/health", 200, bound=LIVENESS_BOUND)])
                writes = [
                    pool.submit(
                        check_cases,
                        base_url,
                        f"{fault}, a burst of writes",
                        [Case("/items", 201, "POST", write, new_item(), bound=12)],
                    )
                    for _ in range(burst)
                ]
                for done in [first, *writes]:
                    done.result()  # a failed case fails the test here, not in its thread
            if hung:
                # Each worker that has seen a publish fail now skips the broker; the record
                # shows the seconds (one worker the burst missed may still wait its timeout).
                check_cases(
                    base_url,
                    f"{fault}, after the first failure",
                    [Case("/items", 201, "POST", write, new_item(), bound=12) for _ in range(3)],
                )
        check_readiness_names(base_url, fault, "redis")


# Users and tokens on SQLite; everything on PostgreSQL with Celery; the API key with Celery.
BAD_DAY = {"defaults", row_id(MAXIMAL), row_id(NO_ACCOUNTS)}


def test_generated_fastapi_image_holds_up_when_redis_fails(
    project: Generated, image: Image, services: LocalServices, request: pytest.FixtureRequest
) -> None:
    on_a_bad_day_only(request, BAD_DAY)
    answers = {**DEFAULTS, **project.answers}
    if answers["background"] != "celery" and answers["auth"] != "jwt":
        pytest.skip("this combination does not use Redis")
    deployer = Deployer(services, image)
    check_redis_fault(project, image, deployer, hung=False)
    if answers["background"] == "celery":
        check_redis_fault(project, image, deployer, hung=True)


def test_generated_fastapi_image_rooms_span_instances(
    project: Generated, image: Image, services: LocalServices, request: pytest.FixtureRequest
) -> None:
    """Two instances of the image behind one load balancer, each one worker, sharing the
    README's REDIS_URL: members on different instances share a room."""
    on_a_bad_day_only(request, BAD_DAY)
    answers = {**DEFAULTS, **project.answers}
    if not answers["websockets"]:
        pytest.skip("this combination has no rooms")
    deployer = Deployer(services, image)
    token = None
    if answers["auth"] == "jwt":
        with serving_as_documented(project.path, image, deployer) as served:  # migrates too
            user = bearer(served.base_url, f"member-{secrets.token_hex(4)}@example.com")
        token = user["Authorization"].removeprefix("Bearer ")
    check_rooms_across_instances(project.path, image, deployer, token)


def test_generated_fastapi_image_keeps_users_apart(
    project: Generated, image: Image, services: LocalServices, request: pytest.FixtureRequest
) -> None:
    """Two workers sharing Redis: a token works on either; guessing one account's password from
    one client is throttled for that account and client, not for others or the owner at another
    client, and a burst of logins at once gets no more through than the limit; one user cannot
    change another's item; a stranger cannot write."""
    on_a_bad_day_only(request, BAD_DAY)
    answers = {**DEFAULTS, **project.answers}
    deployer = Deployer(services, image)
    overrides = {"WEB_CONCURRENCY": "2"}
    if answers["auth"] == "jwt":
        assert services.redis_url
        overrides["REDIS_URL"] = services.redis_url
    with serving_as_documented(
        project.path, image, deployer, release=True, overrides=overrides
    ) as served:
        base_url = served.base_url
        anonymous = Case("/items", 401, "POST", JSON, new_item(), bound=5)
        if answers["auth"] != "jwt":
            key = writer(base_url, answers, served.env)
            check_cases(base_url, "a stranger writes", [anonymous])
            check_cases(
                base_url,
                "the key writes",
                [Case("/items", 201, "POST", {**key, **JSON}, new_item(), bound=5)],
            )
            return
        # Addresses of their own: a SQLite database outlives one test's server.
        run = secrets.token_hex(4)
        alice_email, bob_email = f"alice-{run}@example.com", f"bob-{run}@example.com"
        alice, bob = bearer(base_url, alice_email), bearer(base_url, bob_email)
        check_cases(base_url, "two workers", [Case("/users/me", 200, headers=alice, bound=5)] * 10)
        status, _, body = http_response(
            f"{base_url}/items", {**HTTPS, **alice, **JSON}, method="POST", body=new_item()
        )
        assert status == 201, body
        item = f"/items/{json.loads(body)['id']}"
        check_cases(
            base_url,
            "another user's item",
            [
                Case(item, 403, "PATCH", {**bob, **JSON}, b'{"quantity": 1}', bound=5),
                Case(item, 403, "DELETE", bob, bound=5),
                anonymous,
                Case(item, 200, "PATCH", {**alice, **JSON}, b'{"quantity": 1}', bound=5),
            ],
        )
        # A stranger guesses Alice's password from client A (by the trusted proxy's
        # X-Forwarded-For); Alice logs in from client B.
        stranger = {"X-Forwarded-For": "203.0.113.66"}
        elsewhere = {"X-Forwarded-For": "198.51.100.2"}
        guesses = [log_in(base_url, alice_email, "wrong-guess", **stranger) for _ in range(5)]
        assert guesses == [401] * 5, guesses
        check_cases(
            base_url,
            "password guessing",
            [
                # the stranger's 6th wrong try: throttled (per account and client)
                Case(
                    "/auth/token",
                    429,
                    "POST",
                    {**FORM, **stranger},
                    f"username={alice_email}&password=x".encode(),
                    5,
                ),
                # the owner from another client: not locked out by the stranger
                Case(
                    "/auth/token",
                    200,
                    "POST",
                    {**FORM, **elsewhere},
                    f"username={alice_email}&password={PASSWORD}".encode(),
                    5,
                ),
                # another account, from the stranger and from another client: not throttled
                Case(
                    "/auth/token",
                    401,
                    "POST",
                    {**FORM, **stranger},
                    f"username={bob_email}&password=x".encode(),
                    5,
                ),
                Case(
                    "/auth/token",
                    200,
                    "POST",
                    {**FORM, **elsewhere},
                    f"username={bob_email}&password={PASSWORD}".encode(),
                    5,
                ),
            ],
        )
        # Twelve logins at once from one client, spread over both workers: each is counted in
        # Redis before its password is checked, so exactly five get that far (the per account and
        # client limit, which counts the right password too), however many arrive together.
        burst_from = {"X-Forwarded-For": "198.51.100.77"}
        with ThreadPoolExecutor(max_workers=12) as pool:
            burst = list(pool.map(lambda _: log_in(base_url, bob_email, **burst_from), range(12)))
        assert sorted(burst) == [200] * 5 + [429] * 7, burst
        # One client (by the trusted proxy's X-Forwarded-For) trying many accounts.
        guesser = {"X-Forwarded-For": "203.0.113.7"}
        tries = [log_in(base_url, f"u{n}@example.com", "x", **guesser) for n in range(21)]
        assert tries == [401] * 20 + [429], tries
        assert log_in(base_url, "u0@example.com", "x", **elsewhere) == 401
    check_forwarded_for_ignored_from_an_untrusted_peer(project, image, services)


def check_forwarded_for_ignored_from_an_untrusted_peer(
    project: Generated, image: Image, services: LocalServices
) -> None:
    """FORWARDED_ALLOW_IPS names another address: every attempt counts against the real peer,
    whatever X-Forwarded-For it sends."""
    elsewhere = Deployer(services, image, proxy="10.9.9.9")
    # Plain HTTP on purpose: no X-Forwarded-Proto is believed from this peer either. One
    # worker, so the count is one whether or not it is kept in Redis.
    overrides = {"FORCE_HTTPS": "false", "WEB_CONCURRENCY": "1"}
    with serving_as_documented(
        project.path, image, elsewhere, release=False, overrides=overrides
    ) as served:
        tries = [
            log_in(served.base_url, f"v{n}@example.com", "x", **{"X-Forwarded-For": f"192.0.2.{n}"})
            for n in range(21)
        ]
    # The peer's own count (earlier attempts in Redis may have started it): it runs out.
    assert tries[0] == 401 and tries[-1] == 429, tries


# --- account mail over SMTP, as deployed -----------------------------------------------------

# The defaults and every option at once; the mandatory-verification and MFA answers have a
# project of their own below.
ACCOUNT_MAIL = {
    "defaults",
    "admin=sqladmin-auth=jwt-background=celery-database=postgres-ml_serving=True-websockets=True",
}
# Where the links in mail point (PUBLIC_URL); the proof follows them on the served address.
PUBLIC_URL = "https://api.example.test"


def mail_settings(mailbox: Mailbox) -> dict[str, str]:
    """What the README tells a deployer to set for mail, pointing at the loopback server."""
    return {
        "SMTP_HOST": mailbox.host,
        "SMTP_PORT": str(mailbox.port),
        "SMTP_SECURITY": "none",
        "MAIL_FROM": "noreply@example.test",
        "PUBLIC_URL": PUBLIC_URL,
    }


def call(
    base_url: str, path: str, method: str = "GET", body: object = None, **headers: str
) -> tuple[int, dict[str, object]]:
    """A JSON request behind the proxy: its status and JSON answer ({} when there is none)."""
    data = json.dumps(body).encode() if body is not None else None
    sent = {**HTTPS, **(JSON if body is not None else {}), **headers}
    status, _, said = http_response(base_url + path, sent, timeout=15, method=method, body=data)
    return status, (json.loads(said) if said.strip() else {})


def token_login(
    base_url: str, email: str, password: str, code: str | None = None, **headers: str
) -> tuple[int, dict[str, object]]:
    form = f"username={email}&password={password}" + (f"&totp_code={code}" if code else "")
    sent = {**HTTPS, **FORM, **headers}
    status, _, said = http_response(
        f"{base_url}/auth/token", sent, timeout=15, method="POST", body=form.encode()
    )
    return status, json.loads(said)


def follow(base_url: str, link: str, path: str) -> tuple[int, dict[str, object]]:
    """Follow a mailed link on the served address, after checking where it points."""
    assert link.startswith(f"{PUBLIC_URL}{path}?token="), link
    return call(base_url, link.removeprefix(PUBLIC_URL))


def totp(secret: str, at: float) -> str:
    """The authenticator app's code (RFC 6238: SHA-1, 30 s, 6 digits) at time `at`."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, int(at // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return f"{(int.from_bytes(mac[offset : offset + 4], 'big') & 0x7FFFFFFF) % 10**6:06d}"


def check_account_flow_over_smtp(
    base_url: str, mailbox: Mailbox, *, mandatory: bool, mfa: bool
) -> None:
    """Sign up, verify by the mailed link, log in, refresh (a spent token is refused), reset the
    password by the mailed link, log in with the new one; the spent link is refused, and an
    unknown address gets the same answer and no mail."""
    run = secrets.token_hex(4)
    email, password, new_password = f"flow-{run}@example.com", PASSWORD, f"new-{PASSWORD}"
    status, said = call(base_url, "/auth/register", "POST", {"email": email, "password": password})
    assert status == 202, said
    [verify] = links(mailbox.wait_for(email))
    if mandatory:
        assert token_login(base_url, email, password)[0] == 403
    assert follow(base_url, verify, "/auth/verify-email")[0] == 200

    status, tokens = token_login(base_url, email, password)
    assert status == 200, tokens
    status, rotated = call(
        base_url, "/auth/refresh", "POST", {"refresh_token": tokens["refresh_token"]}
    )
    assert status == 200, rotated
    reused = call(base_url, "/auth/refresh", "POST", {"refresh_token": tokens["refresh_token"]})
    assert reused[0] == 401, reused
    recovery: list[str] = []
    if mfa:
        bearer_header = {"Authorization": f"Bearer {rotated['access_token']}"}
        status, enrolment = call(base_url, "/users/me/totp", "POST", **bearer_header)
        assert status == 200, enrolment
        secret = str(enrolment["secret"])
        status, codes = call(
            base_url,
            "/users/me/totp/confirm",
            "POST",
            {"code": totp(secret, time.time())},
            **bearer_header,
        )
        assert status == 200, codes
        recovery = list(codes["recovery_codes"])  # type: ignore[call-overload]
        assert token_login(base_url, email, password)[0] == 401  # the code is missing
        status, said = token_login(base_url, email, password, totp(secret, time.time() + 30))
        assert status == 200, said

    unknown = call(
        base_url, "/auth/forgot-password", "POST", {"email": f"nobody-{run}@example.com"}
    )
    before = len(mailbox.messages)
    known = call(base_url, "/auth/forgot-password", "POST", {"email": email.upper()})
    assert known == unknown and known[0] == 202, (known, unknown)
    [reset] = links(mailbox.wait_for(email, after=before))
    assert follow(base_url, reset, "/auth/reset-password")[0] == 200
    token = reset.split("token=", 1)[1]
    body = {"token": token, "new_password": new_password}
    assert call(base_url, "/auth/reset-password", "POST", body)[0] == 200
    code = recovery[0] if mfa else None
    status, said = token_login(base_url, email, new_password, code)
    assert status == 200, said
    # From another client (by the proxy's X-Forwarded-For): this one has spent its five logins
    # a minute on this account.
    elsewhere = {"X-Forwarded-For": "198.51.100.9"}
    old = token_login(base_url, email, password, recovery[1] if mfa else None, **elsewhere)
    assert old[0] == 401, old
    assert follow(base_url, reset, "/auth/reset-password")[0] == 400
    again = {"token": token, "new_password": f"third-{PASSWORD}"}
    assert call(base_url, "/auth/reset-password", "POST", again)[0] == 400
    assert mailbox.sent_to(f"nobody-{run}@example.com") == []


@contextmanager
def serving_with_mail(
    project: Generated, image: Image, deployer: Deployer, mailbox: Mailbox
) -> Iterator[str]:
    """The image's server, and its Celery worker when there is one (the mail goes through it),
    with the mail settings the README names: the server's address."""
    overrides = mail_settings(mailbox)
    with ExitStack() as stack:
        for worker in documented_services(project.path, image, deployer):
            stack.enter_context(image.start(worker.command, {**worker.env, **overrides}))
        served = stack.enter_context(
            serving_as_documented(project.path, image, deployer, overrides=overrides)
        )
        yield served.base_url


def test_generated_fastapi_image_sends_account_mail_over_smtp(
    project: Generated, image: Image, services: LocalServices, request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.id not in ACCOUNT_MAIL:
        pytest.skip("the account mail proof runs on: " + "; ".join(sorted(ACCOUNT_MAIL)))
    answers = {**DEFAULTS, **project.answers}
    assert answers["auth"] == "jwt"
    deployer = Deployer(services, image)
    with (
        smtp_server() as mailbox,
        serving_with_mail(project, image, deployer, mailbox) as base_url,
    ):
        check_account_flow_over_smtp(
            base_url,
            mailbox,
            mandatory=answers.get("email_verification") == "mandatory",
            mfa=answers.get("mfa") is True,
        )


@pytest.fixture(scope="module")
def strict_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Generated, Image]]:
    """The defaults with mandatory email verification and two-factor login, and its image."""
    destination = tmp_path_factory.mktemp("fastapi") / "strict"
    generated = generate(
        destination, {"framework": "fastapi", "email_verification": "mandatory", "mfa": True}
    )
    built = build_image(generated.path, tmp_path_factory.mktemp("image"))
    yield generated, built
    remove_image(built)


def test_generated_fastapi_image_with_mandatory_verification_and_mfa_sends_account_mail(
    strict_accounts: tuple[Generated, Image],
) -> None:
    generated, built = strict_accounts
    with (
        local_services(postgres=False, redis=True) as up,
        smtp_server() as mailbox,
        serving_with_mail(generated, built, Deployer(up, built), mailbox) as base_url,
    ):
        check_account_flow_over_smtp(base_url, mailbox, mandatory=True, mfa=True)
