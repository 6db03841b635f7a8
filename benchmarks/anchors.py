"""Side by side with the anchors: stackwise's Django and FastAPI projects next to the projects
cookiecutter-django generates and the FastAPI full-stack template's backend.

    python benchmarks/anchors.py PATH... [--rounds 3] [--serve-rounds 6] [--seconds 5]

Each PATH is a checkout of one anchor (benchmarks/README.md, "Side by side with the anchors",
says which versions and how to get them): cookiecutter-django is paired with stackwise's Django
project (`api=drf`, `database=postgres`), the full-stack template with stackwise's FastAPI
project (`database=postgres`). Two measurements, each from paired rounds in alternating order:

- Time to green with a warm uv cache: generate, install into a fresh venv (uv, offline: every
  wheel comes from the cache), and the project's own test suite, each timed on its own.
- Serving: requests/s of an authenticated read of the current user under gunicorn with two
  workers (uvicorn workers for FastAPI), loaded by wrk as `serving.py` loads (a connection per
  request, behind HTTPS), and the resident memory per worker.

Needs wrk, cookiecutter (`pip install cookiecutter==2.6.0`, on PATH or beside this Python),
PostgreSQL on 127.0.0.1:5432 (user postgres, trust authentication; databases named
`anchors_*` are made and dropped) and Redis on 127.0.0.1:6379 (database 5).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import serving  # noqa: E402 (a sibling script, not a package)

BIN = Path(sys.executable).parent
POSTGRES = "postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/5"
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "a-benchmark-password"  # noqa: S105 (a throwaway account in a scratch database)
SECRET = secrets.token_urlsafe(50)
# serving.LOG_IN_A_USER with a session key of this run's own: stackwise's Django project keeps
# sessions in Redis too (cached_db), where a session of an earlier run under the same key, signed
# with another secret, would log the benchmark user out.
SESSION_KEY = secrets.token_hex(16)
LOG_IN_A_USER = [arg.replace(serving.SESSION_KEY, SESSION_KEY) for arg in serving.LOG_IN_A_USER]
STEPS = ("generate", "install", "own test suite")


@dataclass
class Contender:
    """One project: how to make it, install it, test it and serve it.

    Commands run in the project's directory with its venv first on PATH. In `env` and in the
    commands, `{project}` is the project's directory, `{db}` its database and `{port}` the port
    it serves on.
    """

    label: str
    generate: Callable[[Path], Path]  # a scratch directory -> the new project's directory
    install: list[list[str]]
    suite: list[list[str]]
    env: dict[str, str]
    serve_env: dict[str, str]
    prepare: list[list[str]]  # before serving, untimed: migrations, a user
    serve: list[str]  # gunicorn's arguments
    ready_path: str  # answers 200 without logging in once the app is up
    read_path: str
    log_in: Callable[[str], str]  # the server's base URL -> the header that authenticates
    venv: str = ".venv"


@dataclass
class Pair:
    framework: str
    stackwise: Contender
    anchor: Contender
    seconds: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    samples: dict[str, list[serving.Sample]] = field(default_factory=dict)


def uv(*args: str) -> list[str]:
    return [str(BIN / "uv"), *args]


def uv_pip_install(*args: str) -> list[str]:
    return uv("pip", "install", "-q", "--python", ".venv/bin/python", *args)


def stackwise_new(framework: str, answers: tuple[str, ...]) -> Callable[[Path], Path]:
    def generate(scratch: Path) -> Path:
        project = scratch / f"stackwise_{framework}"
        data = [arg for answer in answers for arg in ("--data", answer)]
        command = [str(BIN / "stackwise"), "new", str(project), "-f", framework, "--defaults"]
        checked([*command, *data, "--no-git"], scratch, os.environ.copy())
        return project

    return generate


def cookiecutter_django(checkout: Path) -> Callable[[Path], Path]:
    cookiecutter = shutil.which("cookiecutter") or str(BIN / "cookiecutter")

    def generate(scratch: Path) -> Path:
        # The API, no cloud storage (WhiteNoise serves static files then), plain SMTP mail: the
        # options that need no outside service; the rest are cookiecutter-django's defaults.
        options = [
            "use_drf=y",
            "cloud_provider=None",
            "use_whitenoise=y",
            "mail_service=Other SMTP",
        ]
        command = [cookiecutter, "--no-input", "-o", str(scratch), str(checkout)]
        checked([*command, *options, "project_slug=cc_django"], scratch, os.environ.copy())
        return scratch / "cc_django"

    return generate


def full_stack_backend(checkout: Path) -> Callable[[Path], Path]:
    def generate(scratch: Path) -> Path:
        # Nothing to render: the template is used as it is, a uv workspace whose lock and
        # .env sit at its root, above backend/.
        root = scratch / "full_stack"
        root.mkdir()
        for name in ("pyproject.toml", "uv.lock", ".env"):
            shutil.copy2(checkout / name, root / name)
        shutil.copytree(checkout / "backend", root / "backend")
        return root / "backend"

    return generate


def bearer_from_password_login(
    token_path: str, username: str, password: str
) -> Callable[[str], str]:
    """An OAuth2 password-flow login, once: the token is reused for every round."""
    token: list[str] = []

    def log_in(base: str) -> str:
        if not token:
            form = urllib.parse.urlencode({"username": username, "password": password}).encode()
            request = urllib.request.Request(  # noqa: S310 (loopback)
                base + token_path, data=form, headers={serving.BEHIND_HTTPS.split(": ")[0]: "https"}
            )
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
                token.append(json.load(answer)["access_token"])
        return f"Authorization: Bearer {token[0]}"

    return log_in


def session_cookie(base: str) -> str:
    """LOG_IN_A_USER wrote a session with a known key into the database."""
    return f"Cookie: sessionid={SESSION_KEY}"


def contenders(path: Path) -> tuple[str, Contender, Contender]:
    """The framework, stackwise's contender and the anchor's, for one anchor checkout."""
    gunicorn_port = ["-b", "127.0.0.1:{port}"]
    if (path / "cookiecutter.json").exists():
        stackwise = Contender(
            label="stackwise Django (api=drf, postgres)",
            generate=stackwise_new("django", ("api=drf", "database=postgres")),
            install=[uv("sync", "--locked", "--offline", "--python", sys.executable)],
            suite=[["pytest", "-q", "-p", "no:cacheprovider"]],
            env={"DATABASE_URL": f"postgres://{POSTGRES}/{{db}}"},
            serve_env={
                "DJANGO_SETTINGS_MODULE": "config.settings.production",
                "DJANGO_SECRET_KEY": SECRET,
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
                "DJANGO_DEFAULT_FROM_EMAIL": BENCH_EMAIL,
                "DJANGO_SITE_URL": "https://example.com",
                "REDIS_URL": REDIS_URL,
                "WEB_CONCURRENCY": "2",
            },
            prepare=[
                ["python", "manage.py", "collectstatic", "--noinput"],
                ["python", "manage.py", "migrate", "--noinput"],
                LOG_IN_A_USER,
            ],
            serve=["-c", "gunicorn.conf.py", "config.wsgi"],
            ready_path="/health",
            read_path="/api/me/",
            log_in=session_cookie,
        )
        anchor = Contender(
            label="cookiecutter-django (use_drf)",
            generate=cookiecutter_django(path),
            # As its README installs it (pip install -r requirements/local.txt), with uv.
            install=[
                uv("venv", "-q", "--python", sys.executable, ".venv"),
                uv_pip_install("--offline", "-r", "requirements/local.txt"),
            ],
            suite=[["pytest", "-q", "-p", "no:cacheprovider"]],
            env={"DATABASE_URL": f"postgres://{POSTGRES}/{{db}}"},
            serve_env={
                "DJANGO_SETTINGS_MODULE": "config.settings.production",
                "DJANGO_SECRET_KEY": SECRET,
                "DJANGO_ADMIN_URL": "admin/",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
                "REDIS_URL": REDIS_URL,
            },
            prepare=[
                ["python", "manage.py", "collectstatic", "--noinput"],
                ["python", "manage.py", "migrate", "--noinput"],
                LOG_IN_A_USER,
            ],
            # Its production start script's command, with two workers.
            serve=["config.wsgi", "-w", "2", *gunicorn_port],
            ready_path="/",
            read_path="/api/users/me/",
            log_in=session_cookie,
        )
        return "django", stackwise, anchor

    checkout = path.parent if path.name == "backend" else path
    if not (checkout / "backend" / "app" / "main.py").exists():
        sys.exit(
            f"{path}: neither a cookiecutter-django nor a full-stack-fastapi-template checkout"
        )
    stackwise = Contender(
        label="stackwise FastAPI (postgres)",
        generate=stackwise_new("fastapi", ("database=postgres",)),
        install=[uv("sync", "--locked", "--offline", "--python", sys.executable)],
        suite=[["pytest", "-q", "-p", "no:cacheprovider"]],
        env={"DATABASE_URL": f"postgresql+asyncpg://{POSTGRES}/{{db}}"},
        serve_env={
            "ENVIRONMENT": "production",
            "SECRET_KEY": SECRET,
            "PUBLIC_URL": "https://example.com",
            # Production requires mail; the read sends none.
            "SMTP_HOST": "127.0.0.1",
            "MAIL_FROM": BENCH_EMAIL,
            "REDIS_URL": REDIS_URL,
            "ACCESS_TOKEN_EXPIRE_MINUTES": "600",
            "WEB_CONCURRENCY": "2",
        },
        prepare=[
            ["alembic", "upgrade", "head"],
            [
                "sh",
                "-c",
                f"echo {BENCH_PASSWORD} | python -m app.cli create-user {BENCH_EMAIL}"
                " --password-stdin",
            ],
        ],
        serve=["-c", "gunicorn.conf.py", "app.main:app"],
        ready_path="/health",
        read_path="/users/me",
        log_in=bearer_from_password_login("/auth/token", BENCH_EMAIL, BENCH_PASSWORD),
    )
    anchor = Contender(
        label="full-stack-fastapi-template backend",
        generate=full_stack_backend(checkout),
        # The workspace's venv, made in the backend directory as stackwise's is in its project.
        install=[uv("sync", "--locked", "--offline", "--python", sys.executable)],
        # Its scripts/tests-start.sh runs against a migrated database (prestart.sh migrates).
        suite=[["alembic", "upgrade", "head"], ["pytest", "-q", "-p", "no:cacheprovider", "tests"]],
        env={
            "UV_PROJECT_ENVIRONMENT": "{project}/.venv",
            "POSTGRES_SERVER": "127.0.0.1",
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": "{db}",
        },
        serve_env={
            "ENVIRONMENT": "production",
            "SECRET_KEY": SECRET,
            # Trust authentication ignores it; production refuses the .env's "changethis".
            "POSTGRES_PASSWORD": "unused-with-trust-authentication",
            "FIRST_SUPERUSER": BENCH_EMAIL,
            "FIRST_SUPERUSER_PASSWORD": BENCH_PASSWORD,
        },
        prepare=[
            # Served as stackwise's FastAPI project is: gunicorn with uvicorn-worker, the same
            # versions. The template itself runs `fastapi run --workers 4` (uvicorn's own manager).
            uv_pip_install("gunicorn==27.0.1", "uvicorn-worker==0.4.0"),
            ["alembic", "upgrade", "head"],
            ["python", "app/initial_data.py"],
        ],
        serve=["-k", "uvicorn_worker.UvicornWorker", "-w", "2", *gunicorn_port, "app.main:app"],
        ready_path="/api/v1/utils/health-check/",
        read_path="/api/v1/users/me",
        log_in=bearer_from_password_login(
            "/api/v1/login/access-token", BENCH_EMAIL, BENCH_PASSWORD
        ),
    )
    return "fastapi", stackwise, anchor


def checked(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr)[-3000:]
        sys.exit(f"`{' '.join(command[:4])}` failed in {cwd}:\n{output}")
    return completed.stdout


def psql(statement: str) -> None:
    checked(
        ["psql", "-q", f"postgresql://{POSTGRES}/postgres", "-c", statement],
        Path("/"),
        dict(os.environ),
    )


def drop_databases(name: str) -> None:
    for database in (name, f"test_{name}"):  # and pytest-django's, which --reuse-db would keep
        psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def fresh_database(name: str) -> None:
    drop_databases(name)
    psql(f'CREATE DATABASE "{name}"')


def project_env(contender: Contender, project: Path, db: str, serving_too: bool) -> dict[str, str]:
    values = {**contender.env, **(contender.serve_env if serving_too else {})}
    venv = project / contender.venv
    return {
        **os.environ,
        "VIRTUAL_ENV": "",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        **{name: value.format(project=project, db=db) for name, value in values.items()},
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
    }


def green_once(contender: Contender, scratch: Path, db: str) -> tuple[list[float], str]:
    """Seconds per step, and the suite's summary line, for one project made from nothing."""
    scratch.mkdir()
    fresh_database(db)
    start = time.perf_counter()
    project = contender.generate(scratch)
    seconds = [time.perf_counter() - start]
    env = project_env(contender, project, db, serving_too=False)
    output = ""
    for commands in (contender.install, contender.suite):
        start = time.perf_counter()
        for command in commands:
            output = checked(command, project, env)
        seconds.append(time.perf_counter() - start)
    summary = re.findall(r"^=*\s*(\d+ passed.*?)\s*=*$", output, re.M)
    return seconds, summary[-1] if summary else "?"


def time_to_green(pair: Pair, scratch: Path, rounds: int) -> dict[str, str]:
    """Fills pair.seconds: per contender, per step, one figure a round; returns suite summaries."""
    contenders = {"stackwise": pair.stackwise, "anchor": pair.anchor}
    pair.seconds = {name: {step: [] for step in (*STEPS, "total")} for name in contenders}
    summaries = {}
    for name, contender in contenders.items():
        # Untimed: fills the uv cache, so the timed installs can run offline. Offline first: an
        # online install asks the index about every package, and rebuilds the sdists
        # (psycopg-c, django-allauth) whenever it answers that they changed.
        project = contender.generate(_made(scratch / f"warm_{name}"))
        env = project_env(contender, project, "unused", serving_too=False)
        for command in contender.install:
            if subprocess.run(command, cwd=project, env=env, capture_output=True).returncode:
                checked([arg for arg in command if arg != "--offline"], project, env)
    for round_number in range(rounds):
        order = list(contenders.items())
        for name, contender in order if round_number % 2 == 0 else reversed(order):
            db = f"anchors_{pair.framework}_{name}_{round_number}"
            try:
                seconds, summaries[name] = green_once(
                    contender, scratch / f"{name}_{round_number}", db
                )
            finally:  # a failing step exits: leave no database behind
                drop_databases(db)
            progress(f"{contender.label}, round {round_number + 1}: {seconds}")
            for step, value in zip((*STEPS, "total"), (*seconds, sum(seconds)), strict=True):
                pair.seconds[name][step].append(value)
    return summaries


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _made(directory: Path) -> Path:
    directory.mkdir(parents=True)
    return directory


def serve_once(
    contender: Contender, project: Path, env: dict[str, str], seconds: int
) -> serving.Sample:
    """Start the project's gunicorn, load its current-user read, stop it."""
    port = serving.free_port()
    command = [str(project / contender.venv / "bin" / "gunicorn")]
    command += [arg.format(port=port) for arg in contender.serve]
    log = project / "server.log"  # a file, not a pipe: a full pipe would stall the server
    with log.open("w") as errors:
        server = subprocess.Popen(
            command,
            cwd=project,
            env={**env, "PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
            text=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        serving.wait_for(base + contender.ready_path, time.monotonic() + 60)
        headers = (contender.log_in(base),)
        rps, p99 = serving.load(base + contender.read_path, seconds, headers)
        return serving.Sample(rps, p99, serving.worker_rss_mb(server.pid))
    except (RuntimeError, OSError) as error:
        sys.exit(f"{contender.label}: {error}\n{log.read_text()[-3000:]}")
    finally:
        serving.stop(server)


def serve_pair(pair: Pair, scratch: Path, rounds: int, seconds: int) -> None:
    contenders = {"stackwise": pair.stackwise, "anchor": pair.anchor}
    ready = {}
    for name, contender in contenders.items():
        db = f"anchors_{pair.framework}_{name}_serving"
        fresh_database(db)
        project = contender.generate(_made(scratch / f"serving_{name}"))
        env = project_env(contender, project, db, serving_too=True)
        for command in (*contender.install, *contender.prepare):
            checked(command, project, env)
        ready[name] = (project, env)
    pair.samples = {name: [] for name in contenders}
    for round_number in range(rounds):
        order = list(contenders.items())
        for name, contender in order if round_number % 2 == 0 else reversed(order):
            project, env = ready[name]
            pair.samples[name].append(serve_once(contender, project, env, seconds))
            progress(
                f"{contender.label}, serving round {round_number + 1}: {pair.samples[name][-1]}"
            )
    for name in contenders:
        drop_databases(f"anchors_{pair.framework}_{name}_serving")


def ratio_cell(stackwise: list[float], anchor: list[float]) -> str:
    """stackwise / anchor per round (the two ran back to back), median and range."""
    ratios = [s / a for s, a in zip(stackwise, anchor, strict=True)]
    return f"**{statistics.median(ratios):.2f}** ({min(ratios):.2f}-{max(ratios):.2f})"


def print_green(pair: Pair, summaries: dict[str, str]) -> None:
    s, a = pair.seconds["stackwise"], pair.seconds["anchor"]
    for step in (*STEPS, "total"):
        note = ""
        if step == "own test suite":
            note = f" ({summaries['stackwise']} / {summaries['anchor']})"
        print(
            f"| {pair.framework} | {step}{note} | {statistics.median(s[step]):.1f} s "
            f"| {statistics.median(a[step]):.1f} s | {ratio_cell(s[step], a[step])} |"
        )


def print_serving(pair: Pair) -> None:
    s, a = pair.samples["stackwise"], pair.samples["anchor"]
    print(
        f"| {pair.framework} | current-user read, requests/s | {serving.median_rps(s):,.0f} "
        f"| {serving.median_rps(a):,.0f} | {ratio_cell([x.rps for x in s], [x.rps for x in a])} |"
    )
    print(
        f"| {pair.framework} | p99 latency per round | {', '.join(x.p99 for x in s)} "
        f"| {', '.join(x.p99 for x in a)} | |"
    )
    print(
        f"| {pair.framework} | RSS per worker | {statistics.median(x.rss_mb for x in s):.0f} MB "
        f"| {statistics.median(x.rss_mb for x in a):.0f} MB "
        f"| {ratio_cell([x.rss_mb for x in s], [x.rss_mb for x in a])} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="an anchor's checkout")
    parser.add_argument("--rounds", type=int, default=3, help="time-to-green rounds")
    parser.add_argument("--serve-rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=5, help="wrk's load per round")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("benchmarks/anchors.py: wrk is not installed (Debian: apt-get install wrk)")

    pairs = [Pair(*contenders(path.resolve())) for path in args.paths]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="anchors-") as scratch:
        green = {}
        for pair in pairs:
            green[pair.framework] = time_to_green(
                pair, _made(Path(scratch) / f"{pair.framework}_green"), args.rounds
            )
            serve_pair(
                pair,
                _made(Path(scratch) / f"{pair.framework}_serving"),
                args.serve_rounds,
                args.seconds,
            )

    print(
        f"stackwise vs anchor: medians; ratio stackwise / anchor per paired round, median "
        f"(range). Time to green: {args.rounds} rounds, warm uv cache, offline. Serving: 2 "
        f"gunicorn workers, wrk 1 thread x 16 connections, {args.seconds} s"
        f" x {args.serve_rounds} rounds."
    )
    for pair in pairs:
        print(f"\n{pair.framework}: {pair.stackwise.label} vs {pair.anchor.label}\n")
        print("| framework | measure | stackwise | anchor | ratio (range) |")
        print("|---|---|---:|---:|---:|")
        print_green(pair, green[pair.framework])
        print_serving(pair)
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
