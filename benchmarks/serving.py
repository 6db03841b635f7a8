"""Serve a generated project's /health and a bare one-view app of the same framework, side by side.

Both run under the same gunicorn settings (the generated project's gunicorn.conf.py, the same
worker count) in the generated project's own venv, one after the other, for several interleaved
rounds. wrk loads each from this machine over loopback for a fixed time. Reported: requests/s
(median of the rounds), their ratio, p99 latency, and resident memory per worker after the load.

    python benchmarks/serving.py [--framework django] [--rounds 3] [--seconds 10]

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
    """How to serve one framework's generated project and its bare twin."""

    generated_app: str
    bare_app: str
    bare_source: str
    env: dict[str, str] = field(default_factory=dict)
    prepare: tuple[tuple[str, ...], ...] = ()


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

TARGETS = {
    "django": Target(
        generated_app="config.wsgi",
        bare_app="bare_app",
        bare_source=BARE_DJANGO,
        env={
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        },
        prepare=(("python", "manage.py", "collectstatic", "--noinput"),),
    ),
}


def run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)


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


def stop(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=20)


def measure(app: str, project: Path, env: dict[str, str], seconds: int) -> tuple[float, str, float]:
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
        url = f"http://127.0.0.1:{port}/health"
        try:
            wait_for(url, time.monotonic() + 30)
        except RuntimeError:
            stop(server)
            log = server.communicate()[1][-3000:]
            raise RuntimeError(f"{app} never answered:\n{log}") from None
        subprocess.run(["wrk", "-t1", "-c16", "-d2s", url], check=True, capture_output=True)
        output = subprocess.run(
            ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
        p99 = re.search(r"99%\s+(\S+)", output).group(1)  # type: ignore[union-attr]
        return rps, p99, worker_rss_mb(server.pid)
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
        subprocess.run(
            [
                str(BIN / "stackwise"),
                "new",
                str(project),
                "-f",
                args.framework,
                "--defaults",
                "--no-git",
            ],
            check=True,
            capture_output=True,
        )
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
        (project / f"{target.bare_app}.py").write_text(target.bare_source)

        results: dict[str, list[tuple[float, str, float]]] = {"generated": [], "bare": []}
        for _ in range(args.rounds):
            results["generated"].append(
                measure(target.generated_app, project, venv_env, args.seconds)
            )
            results["bare"].append(measure(target.bare_app, project, venv_env, args.seconds))

    rps = {name: statistics.median(r[0] for r in rounds) for name, rounds in results.items()}
    print(
        f"{args.framework}: {args.workers} gunicorn workers, wrk 1 thread x 16 connections, "
        f"{args.seconds} s x {args.rounds} rounds, median"
    )
    print("| app | requests/s | p99 latency (per round) | RSS per worker |")
    print("|---|---:|---|---:|")
    for name, rounds in results.items():
        p99s = ", ".join(r[1] for r in rounds)
        rss = statistics.median(r[2] for r in rounds)
        print(f"| {name} `/health` | {rps[name]:,.0f} | {p99s} | {rss:.1f} MB |")
    print(f"ratio generated/bare: {rps['generated'] / rps['bare']:.2f}")


if __name__ == "__main__":
    main()
