"""Serve a generated project and a bare app of the same framework, side by side, under load.

Both run under the same gunicorn settings (the generated project's gunicorn.conf.py, the same
worker count) in the generated project's own venv, one after the other, for several interleaved
rounds. wrk loads each measured path from this machine over loopback for a fixed time. Reported
per path: requests/s (median of the rounds), p99 latency, resident memory per worker after the
load, and the ratio generated / bare: the median of the rounds' own ratios, with their range.

    python benchmarks/serving.py [--framework django|flask|fastapi] [--rounds 3] [--seconds 10]

Needs wrk (Debian: apt-get install wrk) and the test tools (README, command 2) for uv.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Target:
    """How to serve one framework's generated project and its bare twin, and what to load.

    `paths` maps what is measured to the path in the generated project and in the bare app.
    Values in `env` may name `{project}`, the generated project's directory.
    """

    generated_app: str
    bare_source: str
    paths: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {"/health": ("/health", "/health")}
    )
    answers: tuple[str, ...] = ()  # --data for `stackwise new`, beyond --defaults
    env: dict[str, str] = field(default_factory=dict)
    prepare: tuple[tuple[str, ...], ...] = ()
    headers: tuple[str, ...] = ()  # sent by wrk with every request


BARE_APP = "bare_app"  # the module name the bare source is written to, beside the project

BARE_DJANGO = '''
"""What `django-admin startproject` sets up, with the deployment checklist's HTTPS settings and
one view per measured path: the floor for the project.

The middleware is startproject's own list. The one-row read is the logged-in user, read the
way Django's docs do it: `request.user`, from the same database and user table.
"""
import os
import sys
import types

from django.apps import AppConfig
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path

# The benchmark's session names the project's backend, allauth's (a ModelBackend underneath):
# here that name is Django's ModelBackend, without allauth and the middleware it demands.
# It is imported when first asked for: Django's auth models can't load before the app registry.
def model_backend(name):
    if name != "AuthenticationBackend":
        raise AttributeError(name)
    from django.contrib.auth.backends import ModelBackend

    return ModelBackend


allauth_backends = types.ModuleType("allauth.account.auth_backends")
allauth_backends.__getattr__ = model_backend
sys.modules["allauth.account.auth_backends"] = allauth_backends


class UsersWithoutSignals(AppConfig):
    """The project's user model, without its app's ready(): its signals need allauth."""

    name = "bench_app.users"
    label = "users"
    default_auto_field = "django.db.models.BigAutoField"

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ["DJANGO_SECRET_KEY"],
    ALLOWED_HOSTS=[os.environ["DJANGO_ALLOWED_HOSTS"]],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
        "django.contrib.messages",
        f"{__name__}.UsersWithoutSignals",
    ],
    AUTH_USER_MODEL="users.User",
    AUTHENTICATION_BACKENDS=["allauth.account.auth_backends.AuthenticationBackend"],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["BENCH_DB"],
            "CONN_MAX_AGE": 60,  # as the generated settings keep connections
        }
    },
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=60 * 60 * 24 * 365,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    USE_TZ=True,
)


def health(request):
    return JsonResponse({"status": "ok"})


def me(request):
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"detail": "Unauthorized"}, status=401)
    return JsonResponse(
        {
            "id": user.id,
            **({"username": user.username} if user.USERNAME_FIELD == "username" else {}),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": user.date_joined.isoformat(),
        }
    )


urlpatterns = [path("health", health), path("me", me)]
application = get_wsgi_application()
'''

BARE_FASTAPI = '''
"""A route per measured path and nothing else: the floor for the generated service.

The row is read the way FastAPI's own SQL tutorial does it: an ORM session from a yield
dependency, `session.get`, on the same table.
"""
import os
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    description: Mapped[str | None]
    quantity: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


sessions = async_sessionmaker(create_async_engine(os.environ["DATABASE_URL"]))


async def get_session():
    async with sessions() as session:
        yield session


application = FastAPI()  # gunicorn's default name, as in the Django twin


@application.get("/health")
async def health():
    return {"status": "ok"}


@application.get("/items/{item_id}")
async def item(item_id: int, session: Annotated[AsyncSession, Depends(get_session)]):
    row = await session.get(Item, item_id)
    return {column: getattr(row, column) for column in Item.__table__.columns.keys()}
'''

BARE_FLASK = '''
"""A view per measured path and no other extension: the floor for the generated service.

The row is read the way Flask-SQLAlchemy's documentation does it: `db.get_or_404` on a model
of the same table.
"""
import os
from datetime import datetime

from flask import Flask, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Item(db.Model):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    description: Mapped[str | None]
    quantity: Mapped[int]
    created_at: Mapped[datetime]


application = Flask(__name__)  # gunicorn's default name, as in the Django twin
# Like any Flask app with sessions, flash or CSRF: a secret key makes Flask build the session
# signer on every request (about 0.03 ms here), in this twin as in the generated project.
application.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
application.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
db.init_app(application)


@application.get("/health")
def health():
    return jsonify(status="ok")


@application.get("/items/<int:item_id>")
def item(item_id):
    row = db.get_or_404(Item, item_id)
    return jsonify(
        id=row.id,
        name=row.name,
        description=row.description,
        quantity=row.quantity,
        created_at=row.created_at.isoformat(),
    )
'''

# One row for the database read: the same table and row both apps read.
INSERT_ONE_ITEM = (
    "python",
    "-c",
    "import sqlite3; c = sqlite3.connect('bench.db'); c.execute("
    "\"INSERT INTO items (name, description, quantity) VALUES ('Lamp', 'Warm light', 3)\"); "
    "c.commit()",
)
ONE_ROW_READ = "one-row read"
# A new key each run: a session an earlier run left in the Redis cache names another user.
SESSION_KEY = f"bench{secrets.token_hex(14)}"
# A user and a logged-in session with a known key, for the Django read of `request.user`.
# The session row is written directly: SessionStore replaces an unknown key with a fresh one.
LOG_IN_A_USER = (
    "python",
    "manage.py",
    "shell",
    "-c",
    "import datetime; "
    "from django.conf import settings; "
    "from django.contrib import auth; "
    "from django.contrib.sessions.backends.db import SessionStore; "
    "from django.contrib.sessions.models import Session; "
    "from django.utils import timezone; "
    "User = auth.get_user_model(); "
    "user = User(email='bench@example.com', **({'username': 'bench'} "
    "if User.USERNAME_FIELD == 'username' else {})); "
    "user.set_password('a-benchmark-password'); user.save(); "
    "data = {auth.SESSION_KEY: str(user.pk), "
    "auth.BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0], "
    "auth.HASH_SESSION_KEY: user.get_session_auth_hash()}; "
    f"Session.objects.create(session_key='{SESSION_KEY}', "
    "session_data=SessionStore().encode(data), "
    "expire_date=timezone.now() + datetime.timedelta(days=1))",
)

TARGETS = {
    "django": Target(
        generated_app="config.wsgi",
        bare_source=BARE_DJANGO,
        paths={"/health": ("/health", "/health"), ONE_ROW_READ: ("/api/me", "/me")},
        # The default project plus Django Ninja, whose /api/me reads the logged-in user.
        answers=("api=ninja",),
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            # What production settings refuse to start without, and Redis, which several
            # workers share their cache, sessions and throttles in (gunicorn.conf.py).
            "DJANGO_SITE_URL": "https://example.com",
            "DJANGO_DEFAULT_FROM_EMAIL": "noreply@example.com",
            "REDIS_URL": "redis://127.0.0.1:6379/8",
            "DATABASE_URL": "sqlite:///{project}/bench.db",
            "BENCH_DB": "{project}/bench.db",
        },
        prepare=(
            ("python", "manage.py", "collectstatic", "--noinput"),
            ("python", "manage.py", "migrate", "--noinput"),
            LOG_IN_A_USER,
        ),
        headers=(f"Cookie: sessionid={SESSION_KEY}",),
    ),
    "flask": Target(
        generated_app="wsgi:app",
        bare_source=BARE_FLASK,
        paths={"/health": ("/health", "/health"), ONE_ROW_READ: ("/api/items/1", "/items/1")},
        # The default extensions plus the API, which serves the row.
        answers=("extensions=sqlalchemy,migrate,wtf,api",),
        env={
            "SECRET_KEY": secrets.token_urlsafe(40),
            "API_SECRET_KEY": secrets.token_urlsafe(40),  # the API's writes need it in production
            # Flask-SQLAlchemy puts a relative SQLite path in the instance folder: be explicit.
            "DATABASE_URL": "sqlite:///{project}/bench.db",
        },
        prepare=(("flask", "--app", "wsgi", "db", "upgrade"), INSERT_ONE_ITEM),
    ),
    "fastapi": Target(
        generated_app="app.main:app",
        bare_source=BARE_FASTAPI,
        paths={"/health": ("/health", "/health"), ONE_ROW_READ: ("/items/1", "/items/1")},
        env={
            "ENVIRONMENT": "production",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "DATABASE_URL": "sqlite+aiosqlite:///./bench.db",
            # Several workers share their login throttles in Redis (gunicorn.conf.py refuses
            # them without it), and production needs account mail's server, sender and links.
            "REDIS_URL": "redis://127.0.0.1:6379/5",
            "SMTP_HOST": "127.0.0.1",
            "MAIL_FROM": "noreply@example.com",
            "PUBLIC_URL": "https://api.example.com",
        },
        prepare=(("alembic", "upgrade", "head"), INSERT_ONE_ITEM),
    ),
}


@dataclass
class Sample:
    rps: float
    p99: str
    rss_mb: float


def run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"`{' '.join(command[:4])}` failed:\n{completed.stderr[-3000:]}")


def free_port() -> int:
    """A port below the ephemeral range, so wrk's own client sockets can never hold it."""
    while True:
        port = 20000 + secrets.randbelow(12000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


# As a TLS-terminating proxy says it: production settings redirect plain HTTP to HTTPS.
BEHIND_HTTPS = "X-Forwarded-Proto: https"
# A connection per request, as nginx proxies by default (HTTP/1.0 upstream) and as gunicorn's
# sync workers (Django, Flask) serve anyway. Over kept-alive connections each uvicorn worker
# (FastAPI) keeps the connections it happened to accept: a run where one worker took most of
# them measured half the requests/s of the next.
CONNECTION_PER_REQUEST = "Connection: close"


def wait_for(url: str, deadline: float) -> None:
    # Sent as the load is: a bare Django app redirects plain HTTP to HTTPS before routing.
    name, _, value = BEHIND_HTTPS.partition(": ")
    request = urllib.request.Request(url, headers={name: value})  # noqa: S310 (loopback)
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=1):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def worker_rss_mb(master: int) -> float:
    children = subprocess.run(
        ["ps", "--ppid", str(master), "-o", "rss="], capture_output=True, text=True, check=True
    ).stdout.split()
    return statistics.mean(int(kb) for kb in children) / 1024


def stop(server: subprocess.Popen[Any]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=20)


def load(url: str, seconds: int, headers: tuple[str, ...]) -> tuple[float, str]:
    sent = (BEHIND_HTTPS, CONNECTION_PER_REQUEST, *headers)
    options = [arg for header in sent for arg in ("-H", header)]
    subprocess.run(["wrk", "-t1", "-c16", "-d2s", *options, url], check=True, capture_output=True)
    output = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", *options, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"{url} answered errors under load:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    # The latency distribution's own line; "99%" can also end a stdev column elsewhere.
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)  # type: ignore[union-attr]
    return rps, p99


def measure(
    app: str,
    paths: dict[str, str],
    project: Path,
    env: dict[str, str],
    seconds: int,
    headers: tuple[str, ...],
) -> dict[str, Sample]:
    """Serve `app`, load each of `paths` (label: path) in turn, then stop it."""
    port = free_port()
    log = project / "server.log"  # a file, not a pipe: a full pipe would stall the server
    with log.open("w") as errors:
        server = subprocess.Popen(
            [str(project / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", app],
            cwd=project,
            env={**env, "PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        samples = {}
        wait_for(base + "/health", time.monotonic() + 30)
        for label, path in paths.items():
            rps, p99 = load(base + path, seconds, headers)
            samples[label] = Sample(rps, p99, worker_rss_mb(server.pid))
        return samples
    except RuntimeError as error:
        raise RuntimeError(f"{app}: {error}\n{log.read_text()[-3000:]}") from None
    finally:
        stop(server)


def benchmark(
    framework: str, rounds: int, seconds: int, workers: int
) -> dict[str, dict[str, list[Sample]]]:
    """Samples per measured label, per app ("generated", "bare"), one per round."""
    target = TARGETS[framework]
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "bench_app"
        answers = [arg for answer in target.answers for arg in ("--data", answer)]
        new = [str(BIN / "stackwise"), "new", str(project), "-f", framework, "--defaults"]
        subprocess.run([*new, *answers, "--no-git"], check=True, capture_output=True)
        env = {
            **os.environ,
            "VIRTUAL_ENV": "",
            "UV_PYTHON_DOWNLOADS": "never",
            "WEB_CONCURRENCY": str(workers),
            **{name: value.format(project=project) for name, value in target.env.items()},
        }
        run([str(BIN / "uv"), "sync", "--no-dev", "--python", sys.executable], project, env)
        venv_env = {**env, "PATH": f"{project / '.venv' / 'bin'}:{env['PATH']}"}
        for command in target.prepare:
            run(list(command), project, venv_env)
        (project / f"{BARE_APP}.py").write_text(target.bare_source)

        apps = {"generated": target.generated_app, "bare": BARE_APP}
        samples: dict[str, dict[str, list[Sample]]] = {
            label: {name: [] for name in apps} for label in target.paths
        }
        for round_number in range(rounds):
            # Each round pairs the two apps back to back; alternating which goes first cancels
            # any drift of the machine within a round.
            order = list(enumerate(apps.items()))
            for index, (name, app) in order if round_number % 2 == 0 else reversed(order):
                paths = {label: pair[index] for label, pair in target.paths.items()}
                measured = measure(app, paths, project, venv_env, seconds, target.headers)
                for label, sample in measured.items():
                    samples[label][name].append(sample)
    return samples


def median_rps(samples: list[Sample]) -> float:
    return statistics.median(s.rps for s in samples)


def round_ratios(by_app: dict[str, list[Sample]]) -> list[float]:
    """Generated / bare requests/s, per round: each pair ran back to back on the same machine."""
    return [g.rps / b.rps for g, b in zip(by_app["generated"], by_app["bare"], strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=sorted(TARGETS), default="django")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/serving.py: wrk is not installed (Debian: apt-get install wrk)")

    results = benchmark(args.framework, args.rounds, args.seconds, args.workers)
    print(
        f"{args.framework}: {args.workers} gunicorn workers, wrk 1 thread x 16 connections, "
        f"{args.seconds} s x {args.rounds} rounds, median"
    )
    print_table(args.framework, results)


def print_table(framework: str, results: dict[str, dict[str, list[Sample]]]) -> None:
    print(
        "| framework | path | app | requests/s | p99 latency (per round) | RSS per worker "
        "| ratio (range) |"
    )
    print("|---|---|---|---:|---|---:|---:|")
    for label, by_app in results.items():
        ratios = round_ratios(by_app)
        ratio = f"**{statistics.median(ratios):.2f}** ({min(ratios):.2f}-{max(ratios):.2f})"
        for name, samples in by_app.items():
            p99s = ", ".join(s.p99 for s in samples)
            rss = statistics.median(s.rss_mb for s in samples)
            shown = ratio if name == "generated" else ""
            print(
                f"| {framework} | {label} | {name} | {median_rps(samples):,.0f} | {p99s} "
                f"| {rss:.1f} MB | {shown} |"
            )


if __name__ == "__main__":
    main()
