"""Serve a generated project and a bare app of the same framework, side by side, under load.

Both run under the same gunicorn settings (the generated project's gunicorn.conf.py, the same
worker count) in the generated project's own venv, one after the other, for several interleaved
rounds. wrk loads each measured path from this machine over loopback for a fixed time. Reported
per path: requests/s (median of the rounds), their ratio, p99 latency, and resident memory per
worker after the load.

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

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Target:
    """How to serve one framework's generated project and its bare twin, and what to load."""

    generated_app: str
    bare_source: str
    paths: tuple[str, ...] = ("/health",)
    env: dict[str, str] = field(default_factory=dict)
    prepare: tuple[tuple[str, ...], ...] = ()


BARE_APP = "bare_app"  # the module name the bare source is written to, beside the project

BARE_DJANGO = '''
"""One view, no middleware: the floor a Django project's /health can be compared with."""
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False, SECRET_KEY="benchmark-only", ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__
)


def health(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [path("health", health)]
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
"""One view, no extensions: the floor a Flask service's /health can be compared with."""
from flask import Flask, jsonify

application = Flask(__name__)  # gunicorn's default name, as in the Django twin


@application.get("/health")
def health():
    return jsonify(status="ok")
'''

# One row for the database read: the same table and row both apps read.
INSERT_ONE_ITEM = (
    "python",
    "-c",
    "import sqlite3; c = sqlite3.connect('bench.db'); c.execute("
    "\"INSERT INTO items (name, description, quantity) VALUES ('Lamp', 'Warm light', 3)\"); "
    "c.commit()",
)

TARGETS = {
    "django": Target(
        generated_app="config.wsgi",
        bare_source=BARE_DJANGO,
        env={
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        },
        prepare=(("python", "manage.py", "collectstatic", "--noinput"),),
    ),
    "flask": Target(
        generated_app="wsgi:app",
        bare_source=BARE_FLASK,
        env={"SECRET_KEY": secrets.token_urlsafe(40), "DATABASE_URL": "sqlite:///bench.db"},
    ),
    "fastapi": Target(
        generated_app="app.main:app",
        bare_source=BARE_FASTAPI,
        paths=("/health", "/items/1"),
        env={
            "ENVIRONMENT": "production",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "DATABASE_URL": "sqlite+aiosqlite:///./bench.db",
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
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)


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


def wait_for(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def worker_rss_mb(master: int) -> float:
    children = subprocess.run(
        ["ps", "--ppid", str(master), "-o", "rss="], capture_output=True, text=True, check=True
    ).stdout.split()
    return statistics.mean(int(kb) for kb in children) / 1024


def stop(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=20)


def load(url: str, seconds: int) -> tuple[float, str]:
    subprocess.run(["wrk", "-t1", "-c16", "-d2s", url], check=True, capture_output=True)  # warm-up
    output = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", url],
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
    app: str, paths: tuple[str, ...], project: Path, env: dict[str, str], seconds: int
) -> dict[str, Sample]:
    port = free_port()
    server = subprocess.Popen(
        [str(project / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", app],
        cwd=project,
        env={**env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(base + paths[0], time.monotonic() + 30)
        except RuntimeError:
            stop(server)
            log = server.communicate()[1][-3000:]
            raise RuntimeError(f"{app} never answered:\n{log}") from None
        samples = {}
        for path in paths:
            rps, p99 = load(base + path, seconds)
            samples[path] = Sample(rps, p99, worker_rss_mb(server.pid))
        return samples
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=sorted(TARGETS), default="django")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/serving.py: wrk is not installed (Debian: apt-get install wrk)")
    target = TARGETS[args.framework]

    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "bench_app"
        new = [str(BIN / "stackwise"), "new", str(project), "-f", args.framework, "--defaults"]
        subprocess.run([*new, "--no-git"], check=True, capture_output=True)
        env = {
            **os.environ,
            "VIRTUAL_ENV": "",
            "UV_PYTHON_DOWNLOADS": "never",
            "WEB_CONCURRENCY": str(args.workers),
            **target.env,
        }
        run([str(BIN / "uv"), "sync", "--no-dev", "--python", sys.executable], project, env)
        venv_env = {**env, "PATH": f"{project / '.venv' / 'bin'}:{env['PATH']}"}
        for command in target.prepare:
            run(list(command), project, venv_env)
        (project / f"{BARE_APP}.py").write_text(target.bare_source)

        apps = {"generated": target.generated_app, "bare": BARE_APP}
        rounds: dict[str, list[dict[str, Sample]]] = {name: [] for name in apps}
        for _ in range(args.rounds):
            for name, app in apps.items():
                rounds[name].append(measure(app, target.paths, project, venv_env, args.seconds))

    print(
        f"{args.framework}: {args.workers} gunicorn workers, wrk 1 thread x 16 connections, "
        f"{args.seconds} s x {args.rounds} rounds, median"
    )
    print("| path | app | requests/s | p99 latency (per round) | RSS per worker |")
    print("|---|---|---:|---|---:|")
    for path in target.paths:
        rps = {}
        for name in apps:
            samples = [r[path] for r in rounds[name]]
            rps[name] = statistics.median(s.rps for s in samples)
            p99s = ", ".join(s.p99 for s in samples)
            rss = statistics.median(s.rss_mb for s in samples)
            print(f"| `{path}` | {name} | {rps[name]:,.0f} | {p99s} | {rss:.1f} MB |")
        print(f"| `{path}` | ratio generated/bare | {rps['generated'] / rps['bare']:.2f} | | |")


if __name__ == "__main__":
    main()
