"""Run a generated project the way its users do, from a clone of its committed files.

- its CI workflow: every step of the test job as written, in an environment holding only what a
  runner has (PATH, HOME, the uv cache) and the workflow's own `env:`, with the job's service
  containers mapped onto this machine's PostgreSQL and Redis;
- its image: the Dockerfile's instructions replayed (COPY honours `.dockerignore`, RUN runs in
  the stage's environment), then the final stage's CMD with exactly its ENV, as its unprivileged
  USER, plus what the README's `docker run` commands set;
- its compose file: every service built from the image, with exactly the environment compose
  gives it and the healthcheck that applies to it.

Nothing here sets a settings module, config name or secret that the project does not set itself
or tell its users to set. Hosts and paths of the containers are mapped onto this machine: the
service names `db` and `redis` (and `localhost` in CI) onto the local servers, `/app` onto the
replayed image's directory, `/home/app` onto a directory of the test's.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from uv import find_uv_bin

from tests.conftest import require_service

UV = find_uv_bin()


def uv_cache() -> str:
    """The uv cache every generated project shares (tests/conftest.py sets it for the run)."""
    return os.environ["UV_CACHE_DIR"]


def shared_mypy_cache(project: Path) -> dict[str, str]:
    """MYPY_CACHE_DIR for the generated projects this test worker checks one after another.

    A fresh clone checks every installed library's types again (15 s of a 17 s mypy run); the
    rows of a template share their libraries, so a cache kept across them pays that once, as
    GitHub's cache action would across runs. mypy checks each module against its source's hash
    before it uses a cached result. One cache per worker: two mypy runs never write one at once.
    Not for Django: django-stubs' plugin makes the cached stubs import one project's user model
    (another row's slug then breaks mypy), and its cache key leaves out INSTALLED_APPS.
    """
    if "mypy_django_plugin" in (project / "pyproject.toml").read_text():
        return {}
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return {"MYPY_CACHE_DIR": str(Path(uv_cache()).parent / "mypy" / worker)}


def uv_environment() -> dict[str, str]:
    return {
        **os.environ,
        "UV_CACHE_DIR": uv_cache(),
        "UV_PYTHON_DOWNLOADS": "never",  # use this machine's Python, never fetch one
        "UV_NO_PROGRESS": "1",
        "VIRTUAL_ENV": "",  # the generated project's own .venv, not the one running pytest
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # report the redirect itself; tests assert on it


_opener = urllib.request.build_opener(_NoRedirects)


def http_get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    """GET a loopback URL without following redirects: (status, body)."""
    status, _, body = http_response(url, headers)
    return status, body


def http_response(
    url: str,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5,
    method: str = "GET",
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Ask a loopback URL without following redirects: (status, lower-cased headers, body)."""
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url, data=body, headers=dict(headers or {}), method=method
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), error.read()


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


# What a browser needs from a production response, whatever the framework.
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": ("DENY", "SAMEORIGIN"),
    "referrer-policy": None,  # any policy
    "strict-transport-security": None,
}


def assert_security_headers(headers: Mapping[str, str], *, hsts: bool = True) -> None:
    for name, expected in SECURITY_HEADERS.items():
        if name == "strict-transport-security" and not hsts:
            continue
        assert name in headers, f"{name} missing from {sorted(headers)}"
        if isinstance(expected, str):
            assert headers[name] == expected
        elif expected is not None:
            assert headers[name].upper() in expected
    if hsts:
        assert "max-age=" in headers["strict-transport-security"]


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the real server for one generated project, dropped afterwards."""
    name = f"stackwise_{secrets.token_hex(6)}"
    server = server_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# What a runner or a slim Python image puts on PATH, without this machine's virtual environments.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
STEP_TIMEOUT = 900
# How this machine reaches the package index (its CA bundle, a proxy): plumbing a runner or a
# build host has in its system configuration, passed through as such; nothing of the project's.
NETWORK_PLUMBING = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


def network_plumbing() -> dict[str, str]:
    return {name: os.environ[name] for name in NETWORK_PLUMBING if name in os.environ}


def clone(project: Path, destination: Path) -> Path:
    """The project as a fresh clone has it: committed files only."""
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(project), str(destination)],
        check=True,
        capture_output=True,
    )
    return destination


def tools_path(directory: Path) -> str:
    """PATH with uv (as setup-uv and the image's `COPY --from=ghcr.io/astral-sh/uv` give it)."""
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / "uv"
    if not link.exists():
        link.symlink_to(UV)
    return f"{directory}:{SYSTEM_PATH}"


@dataclass
class LocalServices:
    """This machine's PostgreSQL and Redis, standing in for the project's service containers.

    Every PostgreSQL URL of one test points at one fresh database; Redis at a database number
    of this pytest worker's own, so parallel workers' Celery queues never meet.
    """

    postgres_url: str | None = None
    redis_url: str | None = None

    def map_url(self, value: str, hosts: set[str]) -> str:
        """A service container's URL (host in `hosts`) as the local server that stands in."""
        parts = urlsplit(value)
        if not parts.scheme or parts.hostname not in hosts:
            return value
        if parts.scheme.startswith("postgres") and self.postgres_url:
            local = urlsplit(self.postgres_url)
            return urlunsplit((parts.scheme, local.netloc, local.path, "", ""))
        if parts.scheme == "redis" and self.redis_url:
            return self.redis_url
        pytest.fail(f"{value}: no local service stands in for {parts.hostname}")


@contextmanager
def local_services(*, postgres: bool, redis: bool) -> Iterator[LocalServices]:
    services = LocalServices()
    if redis:
        server = require_service("Redis", "REDIS_URL", "redis://127.0.0.1:6379/0")
        # Databases 1-15, one per worker (more workers than that would share them).
        worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
        services.redis_url = f"{server.rsplit('/', 1)[0]}/{1 + worker % 15}"
        _flush_redis(services.redis_url)  # no task or cache entry of an earlier test
    if not postgres:
        yield services
        return
    server = require_service(
        "PostgreSQL", "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    with fresh_postgres_database(server) as database_url:
        services.postgres_url = database_url
        yield services


def _flush_redis(url: str) -> None:
    """FLUSHDB on the database `url` names, in Redis's own protocol (no client library here)."""
    parts = urlsplit(url)
    database = parts.path.lstrip("/") or "0"

    def command(*words: str) -> bytes:
        encoded = "".join(f"${len(word)}\r\n{word}\r\n" for word in words)
        return f"*{len(words)}\r\n{encoded}".encode()

    with socket.create_connection((parts.hostname, parts.port or 6379), timeout=5) as redis:
        redis.sendall(command("SELECT", database) + command("FLUSHDB"))
        replies = b""
        while replies.count(b"\r\n") < 2:
            replies += redis.recv(1024)
    assert replies == b"+OK\r\n+OK\r\n", replies


@dataclass
class Process:
    """A process started for a test; its output goes to a file read when the test needs it."""

    popen: subprocess.Popen[bytes]
    log: Path
    command: list[str]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def fail(self, why: str) -> None:
        pytest.fail(f"`{shlex.join(self.command)}` {why}:\n{self.output()[-6000:]}")


@contextmanager
def started(
    command: list[str], env: Mapping[str, str], cwd: Path, user: tuple[int, int] | None = None
) -> Iterator[Process]:
    """Start `command` (as `user`, when this process may switch to it) and stop it afterwards."""
    log = Path(tempfile.mkstemp(prefix="stackwise-process-", suffix=".log")[1])
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            [*as_user(user), *command],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its children (gunicorn workers) stop with it
        )
    process = Process(popen, log, command)
    try:
        yield process
    finally:
        stop(popen)
        log.unlink(missing_ok=True)


def stop(popen: subprocess.Popen[bytes]) -> None:
    """Stop the process and everything it started (its session), even if it exited first."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, None)):
        try:
            os.killpg(popen.pid, sig)
        except ProcessLookupError:
            break  # the whole group is gone
        try:
            popen.wait(timeout=wait)
            if sig == signal.SIGTERM and _group_alive(popen.pid):
                continue  # the leader went; a child of it did not
            break
        except subprocess.TimeoutExpired:
            continue


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def as_user(user: tuple[int, int] | None) -> list[str]:
    if user is None or os.geteuid() != 0:
        return []  # only root can become the image's user; others run as themselves
    uid, gid = user
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]


def run(
    command: list[str],
    env: Mapping[str, str],
    cwd: Path,
    user: tuple[int, int] | None = None,
    timeout: int = STEP_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run to completion; on a timeout, its whole process group goes, children included (a
    shell's server would outlive the shell otherwise)."""
    with subprocess.Popen(
        [*as_user(user), *command],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,  # never a pytest-xdist worker's channel
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as popen:
        try:
            stdout, stderr = popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.communicate()
            raise
    return subprocess.CompletedProcess(popen.args, popen.returncode, stdout, stderr)


def wait_until(check: Callable[[], bool], process: Process, what: str, timeout: float = 60) -> None:
    """Poll `check` until it holds; fail naming `what` if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while not check():
        if process.popen.poll() is not None:
            process.fail(f"exited ({process.popen.returncode}) before {what}")
        if time.monotonic() > deadline:
            process.fail(f"did not reach {what} within {timeout:.0f} s")
        time.sleep(0.3)


def wait_for_health(base_url: str, process: Process) -> None:
    def answers() -> bool:
        try:
            return http_get(f"{base_url}/health")[0] == 200
        except OSError:
            return False

    wait_until(answers, process, "answering /health")


# --- the CI workflow -------------------------------------------------------------------------


def run_ci_workflow(project: Path, workdir: Path, services: LocalServices) -> dict[str, str]:
    """Run the test job of the project's CI workflow in a fresh clone; return each `run:`
    step's output by its command. A failing step fails the test with what it printed. The
    image job, which needs a Docker daemon, must build the Dockerfile `build_image` replays."""
    checkout = clone(project, workdir / "checkout")
    workflow = yaml.safe_load((checkout / ".github" / "workflows" / "ci.yml").read_text())
    assert set(workflow["jobs"]) == {"test", "image"}, f"a job without a stand-in: {workflow}"
    check_image_job(workflow["jobs"]["image"], checkout)
    job = workflow["jobs"]["test"]
    for name, service in job.get("services", {}).items():
        image = str(service["image"]).split(":")[0]
        assert image in ("postgres", "redis"), f"no local stand-in for service {name} ({image})"
    home = workdir / "home"
    home.mkdir()
    env = {
        "PATH": tools_path(workdir / "tools"),
        "HOME": str(home),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "UV_CACHE_DIR": uv_cache(),
        "UV_PYTHON_DOWNLOADS": "never",  # this machine reaches no Python downloads
        **shared_mypy_cache(checkout),
        **network_plumbing(),
    }
    for variables in (workflow.get("env", {}), job.get("env", {})):
        env.update({k: services.map_url(str(v), {"localhost"}) for k, v in variables.items()})
    outputs = {}
    for step in job["steps"]:
        if "uses" in step:
            env.update(_action(step))
            continue
        script = str(step["run"])
        completed = run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            {**env, **step.get("env", {})},
            checkout,
        )
        if completed.returncode != 0:
            pytest.fail(
                f"CI step `{script}` failed (exit {completed.returncode}):\n"
                f"{completed.stdout[-8000:]}\n{completed.stderr[-4000:]}"
            )
        outputs[script] = completed.stdout + completed.stderr
    return outputs


def check_image_job(job: Mapping[str, object], checkout: Path) -> None:
    """The image job builds what `docker build .` builds (the Dockerfile at the root, its final
    stage, the whole checkout as context) and pushes nothing: the image `build_image` replays."""
    steps = job["steps"]
    assert isinstance(steps, list)
    actions = [str(step.get("uses", "")).split("@")[0] for step in steps]
    assert actions == ["actions/checkout", "docker/setup-buildx-action", "docker/build-push-action"]
    build = steps[-1].get("with") or {}
    assert build.get("context") == ".", build  # the checkout, not the action's own git clone
    assert str(build.get("file", "Dockerfile")).removeprefix("./") == "Dockerfile", build
    assert "target" not in build, build  # the final stage, as `docker build .` and deployers get
    assert build.get("push") is False, build
    assert (checkout / "Dockerfile").is_file()


def _action(step: Mapping[str, object]) -> dict[str, str]:
    """The environment an action leaves for later steps; only actions with a stand-in pass."""
    action = str(step["uses"]).split("@")[0]
    if action == "actions/checkout":
        return {}  # the clone is the checkout
    if action == "astral-sh/setup-uv":
        inputs = step.get("with") or {}
        assert isinstance(inputs, dict)
        version = inputs.get("python-version")
        return {"UV_PYTHON": str(version)} if version else {}  # as setup-uv exports it
    pytest.fail(f"the workflow uses {action}, which this test cannot stand in for")


# --- the image -------------------------------------------------------------------------------


@dataclass
class Image:
    """The replayed image: its directory, final environment, command, user and healthcheck."""

    root: Path  # stands in for / : app/, home/app/
    env: dict[str, str]
    cmd: list[str]
    user: tuple[int, int] | None
    healthcheck: Healthcheck | None
    tools: str

    @property
    def workdir(self) -> Path:
        return self.root / "app"

    def path(self, value: str) -> str:
        """A container path (or a URL or PATH holding one) as this machine's stand-in."""
        for inside in ("/home/app", "/app"):
            value = re.sub(rf"(?<![\w.]){inside}(?=/|:|$)", str(self.root) + inside, value)
        return value

    def start(self, command: list[str], env: Mapping[str, str]) -> AbstractContextManager[Process]:
        return started(command, {**self.env, **env}, self.workdir, self.user)

    def run(
        self, command: list[str], env: Mapping[str, str], timeout: int = 300
    ) -> subprocess.CompletedProcess[str]:
        return run(command, {**self.env, **env}, self.workdir, self.user, timeout=timeout)


def build_image(project: Path, workdir: Path) -> Image:
    """Replay the Dockerfile of a fresh clone: FROM, ENV, WORKDIR, COPY, RUN, USER, CMD."""
    context = clone(project, workdir / "context")
    # Under /tmp, readable by the image's user (pytest's own directories are root's alone).
    root = Path(tempfile.mkdtemp(prefix="stackwise-image-"))
    try:
        return _replay(context, root, workdir)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _replay(context: Path, root: Path, workdir: Path) -> Image:
    root.chmod(0o755)
    (root / "home" / "app" / "data").mkdir(parents=True)
    tools = tools_path(workdir / "tools")
    image = Image(root, {}, [], None, None, tools)
    ignored = _dockerignore(context)
    stages: list[str] = []
    env: dict[str, str] = {}
    cwd: Path | None = None
    for instruction in DockerfileParser(str(context / "Dockerfile")).structure:
        kind, value = instruction["instruction"], instruction["value"]
        if kind == "FROM":
            stages.append(value.split()[-1] if " AS " in value.upper() else value)
            env, cwd = {"PATH": SYSTEM_PATH}, None
            image.user, image.healthcheck = None, None
        elif kind == "ENV":
            env.update(_env_instruction(value, env))
        elif kind == "WORKDIR":
            cwd = Path(image.path(value))
            cwd.mkdir(parents=True, exist_ok=True)
        elif kind == "COPY":
            _copy(value, context, cwd, ignored, stages)
        elif kind == "RUN" and cwd is not None:  # before WORKDIR, RUN sets up the system
            build_env = {
                **env,
                **network_plumbing(),
                "PATH": tools,
                "HOME": str(workdir),
                "UV_CACHE_DIR": uv_cache(),
            }
            completed = run(["sh", "-c", value], build_env, cwd)
            if completed.returncode != 0:
                pytest.fail(f"RUN {value} failed:\n{completed.stdout}\n{completed.stderr}")
        elif kind == "USER":
            uid, _, gid = value.partition(":")
            image.user = (int(uid), int(gid or uid))
        elif kind == "HEALTHCHECK":
            image.healthcheck = _healthcheck(value)
        elif kind == "CMD":
            image.cmd = json.loads(value)
    image.env = {k: image.path(v) for k, v in env.items()}
    image.env["HOME"] = str(root / "home" / "app")  # the image user's home
    image.env["HOSTNAME"] = socket.gethostname()  # docker sets it; Celery's node name uses it
    if image.user and os.geteuid() == 0:
        _chown(root, *image.user)
    return image


def remove_image(image: Image) -> None:
    shutil.rmtree(image.root, ignore_errors=True)


def _env_instruction(value: str, env: Mapping[str, str]) -> dict[str, str]:
    expanded = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m[1], ""), value)
    pairs = shlex.split(expanded)
    assert all("=" in pair for pair in pairs), f"ENV {value}: write NAME=value pairs"
    return dict(pair.split("=", 1) for pair in pairs)


def _copy(
    value: str, context: Path, cwd: Path | None, ignored: Callable[[str], bool], stages: list[str]
) -> None:
    args = shlex.split(value)
    flags = {a.split("=")[0]: a.partition("=")[2] for a in args if a.startswith("--")}
    *sources, target = [a for a in args if not a.startswith("--")]
    origin = flags.get("--from")
    if origin in stages:
        return  # every stage shares the one directory that stands in for /app
    if origin is not None:
        assert sources == ["/uv"] and origin.startswith("ghcr.io/astral-sh/uv"), value
        return  # uv is on the tools PATH
    assert cwd is not None, f"COPY {value}: before WORKDIR"
    destination = cwd / target
    for source in sources:
        if source == ".":
            shutil.copytree(
                context,
                destination,
                dirs_exist_ok=True,
                symlinks=True,
                ignore=lambda folder, names: [
                    n for n in names if ignored(str((Path(folder) / n).relative_to(context)))
                ],
            )
        else:
            assert (context / source).is_file(), f"COPY {value}: {source} is not in a fresh clone"
            shutil.copy2(
                context / source, destination / source if target.endswith("/") else destination
            )


def _dockerignore(context: Path) -> Callable[[str], bool]:
    """Docker's .dockerignore rule: patterns are Go `filepath.Match` globs on the path from the
    context (`*` stays within one directory, `**` spans any), a pattern that names a directory
    covers what is in it, the last matching pattern wins, and `!` re-includes."""
    ignore_file = context / ".dockerignore"
    lines = ignore_file.read_text().splitlines() if ignore_file.is_file() else []
    rules = []
    for line in (line.strip() for line in lines):
        if not line or line.startswith("#"):
            continue
        keep, pattern = line.startswith("!"), line.removeprefix("!").strip("/")
        regex = ""
        for piece in re.split(r"(\*\*/?|\*|\?)", pattern):
            if piece.startswith("**"):
                regex += "(?:.*/)?" if piece.endswith("/") else ".*"
            else:
                regex += {"*": "[^/]*", "?": "[^/]"}.get(piece, re.escape(piece))
        rules.append((keep, re.compile(f"{regex}(?:/.*)?")))

    def ignored(path: str) -> bool:
        verdict = False
        for keep, rule in rules:
            if rule.fullmatch(path):
                verdict = not keep
        return verdict

    return ignored


def _healthcheck(value: str) -> Healthcheck | None:
    if value.strip().upper() == "NONE":
        return None
    at = value.upper().index("CMD")
    options, command = value[:at], value[at + 3 :].strip()
    timeout = re.search(r"--timeout=(\S+)", options)
    argv = json.loads(command) if command.startswith("[") else ["sh", "-c", command]
    return Healthcheck(argv, _seconds(timeout and timeout[1], 30))


def _chown(root: Path, uid: int, gid: int) -> None:
    for path in [root, *root.rglob("*")]:
        os.lchown(path, uid, gid)


@dataclass(frozen=True)
class Healthcheck:
    command: list[str]
    timeout: float  # seconds one attempt may take, as docker allows it


def _seconds(duration: object, default: float) -> float:
    """A docker duration such as `5s`, `1m30s` or `500ms` in seconds."""
    if not duration:
        return default
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    found = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(duration))
    return sum(float(number) * units[unit] for number, unit in found) or default


def check_healthcheck(
    check: Healthcheck | None, env: Mapping[str, str], image: Image, process: Process
) -> None:
    """The healthcheck that applies to a running process passes within its timeout (retried,
    as docker retries it)."""
    if check is None:
        return
    deadline = time.monotonic() + 60
    while True:
        try:
            completed = image.run(check.command, env, timeout=max(1, round(check.timeout)))
            if completed.returncode == 0:
                return
            said = completed.stdout + completed.stderr
        except subprocess.TimeoutExpired:
            said = f"(took longer than its timeout, {check.timeout:.0f} s)"
        if time.monotonic() > deadline or process.popen.poll() is not None:
            process.fail(f"never passed its healthcheck `{shlex.join(check.command)}`:\n{said}")
        time.sleep(1)


# --- what the README tells a deployer --------------------------------------------------------


@dataclass
class DockerRun:
    env: dict[str, str]
    command: list[str]  # empty: the image's CMD
    detached: bool  # `-d`: a service that keeps running; otherwise a command run to completion
    healthcheck: str | None  # `--health-cmd` (a shell line), "image" (its own), None (none)


def readme_docker_runs(project: Path) -> list[DockerRun]:
    """Every `docker run` in the README's shell blocks: its flags, `-e` variables and command."""
    readme = (project / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    runs = []
    for line in lines:
        words = shlex.split(line, comments=True)
        if words[:2] != ["docker", "run"]:
            continue
        env: dict[str, str] = {}
        detached, healthcheck = False, "image"
        rest = iter(words[2:])
        for word in rest:
            if word in ("-e", "--env"):
                name, _, value = next(rest).partition("=")
                env[name] = value
            elif word == "-d":
                detached = True
            elif word == "--health-cmd":
                healthcheck = next(rest)
            elif word == "--no-healthcheck":
                healthcheck = None
            elif word in ("-p", "-v", "--name", "--network"):
                next(rest)
            elif word == "--rm":
                continue
            elif word.startswith("-"):
                pytest.fail(f"README: `docker run {word}` has no stand-in here")
            else:
                runs.append(DockerRun(env, list(rest), detached, healthcheck))
                break
    assert runs, "the README shows no `docker run` command"
    return runs


@dataclass
class Deployer:
    """What a deployer gives the variables the README asks for: one secret for every process.

    `proxy` is the address FORWARDED_ALLOW_IPS names: the test's own (its requests stand in for
    the proxy's), or another, to show that then nobody's X-Forwarded-Proto is believed.
    """

    services: LocalServices
    image: Image
    proxy: str = "127.0.0.1"
    secrets: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, shown: str) -> str:
        # Secrets, METRICS_TOKEN among them (`observability`): the proofs read it back here.
        if name.endswith(("SECRET_KEY", "_TOKEN")):
            return self.secrets.setdefault(name, secrets.token_urlsafe(50))
        if name.endswith("ALLOWED_HOSTS"):
            return "127.0.0.1,localhost"
        if name == "FORWARDED_ALLOW_IPS":
            return self.proxy
        if name == "DATABASE_URL":
            if shown.startswith("sqlite"):
                return self.image.path(shown)
            assert self.services.postgres_url, "a PostgreSQL URL without a local PostgreSQL"
            return self.services.postgres_url
        if name == "REDIS_URL" and self.services.redis_url:
            return self.services.redis_url
        # The bucket uploads go to (Django's storage=s3): named, never reached by these proofs
        # (the project's own suite uploads to a real S3-compatible server).
        if name.startswith("AWS_"):
            stand_ins = {
                "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
                "AWS_S3_REGION_NAME": "us-east-1",
            }
            return stand_ins.get(name, f"stand-in-{name.lower().replace('_', '-')}")
        # Where people reach the site (mail links are built on it), the platform's mail relay
        # and the sender it accepts. The account proofs point the relay at an SMTP server of
        # their own; the other runs send nothing, or fail to send and go on.
        if name.endswith(("SITE_URL", "PUBLIC_URL")):
            return "https://localhost"
        if name.endswith(("EMAIL_HOST", "SMTP_HOST", "MAIL_SERVER")):
            return "127.0.0.1"
        if name.endswith(("FROM_EMAIL", "MAIL_FROM", "MAIL_DEFAULT_SENDER")):
            return "noreply@example.com"
        pytest.fail(f"the README asks deployers to set {name}; this test cannot give it a value")

    def env(self, run: DockerRun) -> dict[str, str]:
        return {name: self.value(name, shown) for name, shown in run.env.items()}


@dataclass
class Service:
    """A long-running process started from the image: by compose, or by the README's commands."""

    name: str
    command: list[str]
    env: dict[str, str]
    healthcheck: Healthcheck | None  # the one that applies; None when none does
    secret: str | None  # the secret it must refuse to start without
    serves_http: bool


def documented_services(project: Path, image: Image, deployer: Deployer) -> list[Service]:
    """The README's detached `docker run` commands that start something other than the server
    (Celery workers and beat), with the healthcheck each declares."""
    services = []
    for run in readme_docker_runs(project):
        if not (run.detached and run.command):
            continue
        env = deployer.env(run)
        check = image.healthcheck
        if run.healthcheck != "image":
            line = run.healthcheck
            check = Healthcheck(["sh", "-c", line], 30) if isinstance(line, str) else None
        name = " ".join(run.command[:4])
        secret = next((key for key in env if key.endswith("SECRET_KEY")), None)
        services.append(Service(name, run.command, env, check, secret, serves_http=False))
    return services


# --- the compose file ------------------------------------------------------------------------


def compose_services(
    project: Path, image: Image, deployer: Deployer, development: bool = False
) -> list[Service]:
    """The services of docker-compose.yml built from the project's image, as compose runs them
    in production mode (`docker compose -f docker-compose.yml up`) or, `development`, as
    `docker compose up` does, with docker-compose.override.yml merged over it."""
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    if development:
        override = yaml.safe_load((project / "docker-compose.override.yml").read_text())
        for name, spec in override["services"].items():
            base = compose["services"][name]
            env = {**base.get("environment", {}), **spec.get("environment", {})}
            compose["services"][name] = {**base, **spec, "environment": env}
    services = []
    for name, spec in compose["services"].items():
        if "build" not in spec:
            image_name = str(spec["image"]).split(":")[0]
            # Mailpit catches development mail: these proofs send none through compose (the
            # account-flow proofs read theirs from a real SMTP server of their own).
            assert image_name in ("postgres", "redis", "axllent/mailpit"), (
                f"no stand-in for service {name}"
            )
            continue
        env, secret = {}, None
        for key, raw in (spec.get("environment") or {}).items():
            value, required = _interpolate(str(raw), deployer)
            secret = secret or required
            env[key] = image.path(deployer.services.map_url(value, {"db", "redis"}))
        command = spec.get("command") or image.cmd
        if isinstance(command, str):
            command = shlex.split(command)
        healthcheck = _compose_healthcheck(spec, image)
        services.append(Service(name, command, env, healthcheck, secret, "ports" in spec))
    return services


def check_development_web(
    project: Path, web: Service, image: Image, page: str, changed: str, probe: SettingsProbe
) -> None:
    """The development web service as composed: the checkout (`.env` included) mounted over the
    image's /app, run by the image's user with the image's virtual environment. It runs the
    settings `probe` names, serves `page` over plain HTTP (no production redirect), and
    reloads: after `changed` (a source file) changes, a new process serves."""
    mount = Path(tempfile.mkdtemp(prefix="stackwise-mount-"))
    try:
        checkout = mount / "app"
        shutil.copytree(project, checkout, ignore=shutil.ignore_patterns(".git", ".venv"))
        mount.chmod(0o755)
        if image.user and os.geteuid() == 0:
            _chown(mount, *image.user)
        _check_development_web(checkout, web, image, page, checkout / changed, probe)
    finally:
        shutil.rmtree(mount, ignore_errors=True)


def _check_development_web(
    checkout: Path, web: Service, image: Image, page: str, changed: Path, probe: SettingsProbe
) -> None:
    port = free_port()  # the container's 8000 (on all its interfaces), here loopback's
    everywhere = "0.0.0.0"  # noqa: S104
    command = [
        arg.replace("8000", str(port)).replace(everywhere, "127.0.0.1") for arg in web.command
    ]
    env = {**image.env, **web.env}
    settings = run(probe.command, env, checkout, image.user, timeout=120)
    assert settings.stdout.split() == probe.production.split(), settings.stdout + settings.stderr
    with started(command, env, checkout, image.user) as process:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_health(base_url, process)
        assert http_get(base_url + page)[0] == 200, f"{page} in development"
        serving = _descendants(process.popen.pid)
        changed.write_text(changed.read_text() + "\n# changed while the server runs\n")

        def reloaded() -> bool:
            try:
                fresh = _descendants(process.popen.pid) - serving
                return bool(fresh) and http_get(f"{base_url}/health")[0] == 200
            except OSError:
                return False

        wait_until(reloaded, process, f"a new process serving after {changed.name} changed")


def _descendants(pid: int) -> set[int]:
    """The processes `pid` started, and theirs, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _interpolate(raw: str, deployer: Deployer) -> tuple[str, str | None]:
    """Compose's `${NAME:?message}` from `.env` (the secrets the compose file asks for), `$$`."""
    required: list[str] = []

    def value(match: re.Match[str]) -> str:
        name, operator = match[1], match[2] or ""
        if operator.startswith(":?"):
            required.append(name)
            return deployer.value(name, "")
        pytest.fail(f"compose variable ${{{match[0]}}}: only ${{NAME:?...}} has a stand-in")

    text = re.sub(r"\$\{(\w+)([^}]*)\}", value, raw).replace("$$", "$")
    return text, (required[0] if required else None)


def _compose_healthcheck(spec: Mapping[str, object], image: Image) -> Healthcheck | None:
    check = spec.get("healthcheck")
    if check is None:
        return image.healthcheck
    assert isinstance(check, dict)
    if check.get("disable"):
        return None
    test, timeout = check["test"], _seconds(check.get("timeout"), 30)
    if isinstance(test, str):
        return Healthcheck(["sh", "-c", test.replace("$$", "$")], timeout)
    kind, *command = test
    if kind == "CMD-SHELL":
        return Healthcheck(["sh", "-c", command[0].replace("$$", "$")], timeout)
    assert kind == "CMD", test
    return Healthcheck([part.replace("$$", "$") for part in command], timeout)


# --- the proofs every template shares --------------------------------------------------------

HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating proxy adds
DEBUG_PAGE_MARKERS = (b"Traceback", b"URLconf", b"Werkzeug Debugger", b"DEBUG = True")


def check_ci_workflow(project: Path, workdir: Path, services: LocalServices) -> None:
    """The workflow passes as written, its test suite ran every test (services were there),
    and coverage was measured against the project's floor."""
    outputs = run_ci_workflow(project, workdir, services)
    suite = next(out for script, out in outputs.items() if shlex.split(script)[:3] == SUITE)
    summary = re.findall(r"^=+ (.* in [\d.]+s.*) =+$", suite, re.M)[-1]  # pytest's last line
    assert " passed" in summary, suite
    assert "skipped" not in summary, suite
    assert re.search(r"Required test coverage of \d+(\.\d+)?% reached", suite), suite[-3000:]


SUITE = ["uv", "run", "pytest"]


@dataclass
class Served:
    base_url: str
    env: dict[str, str]  # the environment the server runs with, beyond the image's own
    process: Process


@contextmanager
def serving_as_documented(
    project: Path,
    image: Image,
    deployer: Deployer,
    release: bool = True,
    overrides: Mapping[str, str] | None = None,
) -> Iterator[Served]:
    """The README's release commands (unless `release` is off), then the image's CMD with the
    README's variables (`overrides` replacing some: a broken database for a fault); the server
    answers /health and passes the image's HEALTHCHECK."""
    runs = readme_docker_runs(project)
    for step in (r for r in runs if release and r.command and not r.detached):
        completed = image.run(step.command, deployer.env(step))
        assert completed.returncode == 0, f"{step.command}:\n{completed.stdout}{completed.stderr}"
    serve = next(r for r in runs if r.detached and not r.command)
    port = free_port()
    env = {**deployer.env(serve), **(overrides or {}), "PORT": str(port)}  # the platform's port
    with image.start(image.cmd, env) as process:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_health(base_url, process)
        check_healthcheck(image.healthcheck, env, image, process)
        yield Served(base_url, env, process)


def check_production_web(base_url: str, page: str) -> None:
    """HTTPS enforced, security headers with HSTS behind the proxy, no debug pages, probes open."""
    assert http_get(f"{base_url}/health")[0] == 200  # over plain HTTP, by address
    status, headers, _ = http_response(base_url + page)
    assert status == 301, f"plain HTTP {page}: {status}"
    assert headers["location"].startswith("https://"), headers["location"]
    status, headers, _ = http_response(base_url + page, HTTPS)
    assert status == 200, f"{page} behind the proxy: {status}"
    assert_security_headers(headers)
    status, _, body = http_response(f"{base_url}/no-such-page-{secrets.token_hex(4)}", HTTPS)
    assert status == 404
    assert not [marker for marker in DEBUG_PAGE_MARKERS if marker in body], body[:2000]


def check_observability(served: Served, page: str, route: str, requests: int = 12) -> None:
    """`observability`, on a server with several workers: requests for `page` sent at once
    (so that the workers share them) are each counted once under `route` on every scrape of
    /metrics, whichever worker answers it; every line the server wrote meanwhile is JSON, and
    its access lines carry the ids the answers sent back."""
    scrape = {"Authorization": f"Bearer {served.env['METRICS_TOKEN']}"}
    assert http_response(f"{served.base_url}/metrics")[0] == 401

    def counted() -> float:
        status, _, body = http_response(f"{served.base_url}/metrics", scrape)
        assert status == 200, body[:500]
        series = re.compile(
            rf'http_requests_total\{{method="GET",route="{re.escape(route)}",.*\}} (\S+)'
        )
        return sum(float(found[1]) for found in series.finditer(body.decode()))

    before, written = counted(), len(served.process.output().splitlines())
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: http_response(served.base_url + page, HTTPS), range(requests))
        )
    assert {status for status, _, _ in answers} == {200}
    ids = {headers["x-request-id"] for _, headers, _ in answers}
    assert len(ids) == requests, ids

    assert [counted() - before for _ in range(6)] == [requests] * 6

    lines = served.process.output().splitlines()[written:]
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    access = [r for r in records if r.get("logger") == "access" and r.get("path") == page]
    assert {record["request_id"] for record in access} >= ids, lines[-20:]


def check_name_shown_as_text(base_url: str, page: str, name: str) -> None:
    """The project's name is on its page as the text it is: escaped, never run as template code
    (a name holding `{{ config.SECRET_KEY }}` shows those characters, not the key)."""
    status, _, raw = http_response(base_url + page, HTTPS)
    body = raw.decode()
    assert status == 200
    assert name in html.unescape(body), f"{name!r} is not on {page}"
    if "<" in name:
        assert name not in body, f"the name is markup on {page}, not text"


def check_untrusted_proxy_is_ignored(
    project: Path, image: Image, services: LocalServices, page: str
) -> None:
    """With FORWARDED_ALLOW_IPS naming another address, a client that says X-Forwarded-Proto:
    https itself is still redirected: only the proxy's word counts."""
    elsewhere = Deployer(services, image, proxy="10.9.9.9")  # named, never contacted
    with serving_as_documented(project, image, elsewhere, release=False) as served:
        status, headers, _ = http_response(served.base_url + page, HTTPS)
    assert status == 301, f"{page}, X-Forwarded-Proto from an untrusted client: {status}"
    assert headers["location"].startswith("https://")


@contextmanager
def silent_listener() -> Iterator[int]:
    """A loopback port whose server accepts connections and never answers, as a hung database,
    Redis or mail server (or a network that drops its packets) does."""
    with socket.create_server(("127.0.0.1", 0), backlog=128) as listener:
        yield int(listener.getsockname()[1])


def closed_port() -> int:
    """A loopback port nothing listens on: a dependency that is down (connection refused)."""
    return free_port()


# A returning visitor: Django loads the session row from the database (Flask ignores a cookie
# it did not sign), so a page that shows who is logged in needs the database.
A_SESSION = {"Cookie": "sessionid=0123456789abcdefghijklmnopqrstuv"}
# What a request may wait on a hung dependency, with DEPENDENCY_TIMEOUT at its default (5 s):
# generous for a loaded machine, far below the minute the drivers wait by themselves.
OUTAGE_BOUND = 15
# What liveness may take while a dependency is down: it must not touch one.
LIVENESS_BOUND = 2


@dataclass(frozen=True)
class Case:
    """One request made while a fault is in place, and the status it must get in time."""

    path: str
    status: int
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    bound: float = OUTAGE_BOUND

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def check_cases(base_url: str, fault: str, cases: list[Case]) -> dict[str, tuple[int, float]]:
    """Make each request behind the proxy (HTTPS) and assert its status within its bound; 503
    and 429 say when to come back (Retry-After). Returns {request: (status, seconds)} and adds
    the rows to the fault record (see `record_fault`)."""
    measured = {}
    for case in cases:
        started_at = time.monotonic()
        status, headers, body = http_response(
            base_url + case.path,
            {**HTTPS, **case.headers},
            timeout=case.bound + 30,
            method=case.method,
            body=case.body,
        )
        seconds = round(time.monotonic() - started_at, 2)
        measured[case.name] = (status, seconds)
        record_fault(fault, case.name, status, seconds)
        assert status == case.status, (fault, case.name, status, body[:500])
        assert seconds < case.bound, (fault, case.name, seconds)
        if status in (429, 503) and case.path != "/health/ready":
            assert "retry-after" in headers, (fault, case.name, headers)
    print(f"{fault}: {measured}")  # for the record, with pytest -s
    return measured


def record_fault(fault: str, request: str, status: int, seconds: float) -> None:
    """Append one measured row to $STACKWISE_FAULT_RECORD (JSON lines), when it is set: the
    table of faults, templates, statuses and seconds that a release note quotes."""
    path = os.environ.get("STACKWISE_FAULT_RECORD")
    if not path:
        return
    row = {
        "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
        "fault": fault,
        "request": request,
        "status": status,
        "seconds": seconds,
    }
    with Path(path).open("a") as record:
        record.write(json.dumps(row) + "\n")


def check_readiness_names(base_url: str, fault: str, failing: str) -> None:
    """Liveness answers at once; readiness answers 503 naming the dependency that is down."""
    check_cases(
        base_url,
        fault,
        [Case("/health", 200, bound=LIVENESS_BOUND), Case("/health/ready", 503)],
    )
    status, _, body = http_response(f"{base_url}/health/ready", HTTPS, timeout=OUTAGE_BOUND)
    report = json.loads(body)
    assert status == 503 and report["status"] == "unavailable", report
    assert report[failing] == "unreachable", report


@contextmanager
def serving_with_redis_fault(
    project: Path, image: Image, deployer: Deployer, *, hung: bool
) -> Iterator[tuple[str, Served]]:
    """The image's server (after the README's release commands) with REDIS_URL at a listener
    that never answers (`hung`) or at a closed port (down): (the fault's name, the server)."""
    with ExitStack() as stack:
        port = stack.enter_context(silent_listener()) if hung else closed_port()
        served = stack.enter_context(
            serving_as_documented(
                project, image, deployer, overrides={"REDIS_URL": f"redis://127.0.0.1:{port}/0"}
            )
        )
        yield ("redis hangs" if hung else "redis down"), served


def check_database_outage(
    project: Path, image: Image, deployer: Deployer, data_paths: list[str]
) -> dict[str, tuple[int, float]]:
    """The production server with a database that never answers: liveness answers at once,
    readiness and the pages that need the database answer 503 within OUTAGE_BOUND seconds."""
    with ExitStack() as stack:
        port = stack.enter_context(silent_listener())
        hung = f"postgres://postgres@127.0.0.1:{port}/hung"
        served = stack.enter_context(
            serving_as_documented(
                project, image, deployer, release=False, overrides={"DATABASE_URL": hung}
            )
        )
        check_readiness_names(served.base_url, "database hangs", "database")
        return check_cases(
            served.base_url,
            "database hangs",
            [Case(path, 503, headers=A_SESSION) for path in data_paths],
        )


def check_database_lock(
    project: Path, image: Image, deployer: Deployer, table: str, data_paths: list[str]
) -> dict[str, tuple[int, float]]:
    """The production server while another session holds `table` locked (a migration rewriting
    it, a long maintenance transaction): the database answers, but no statement on that table
    finishes. The pages that read it answer 503 within OUTAGE_BOUND seconds, the statement
    timeout's doing, instead of holding a worker until gunicorn kills it."""
    with serving_as_documented(project, image, deployer) as served:
        with psycopg.connect(served.env["DATABASE_URL"]) as holder:
            holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            measured = check_cases(
                served.base_url,
                f"{table} locked",
                [Case(path, 503, headers=A_SESSION) for path in data_paths],
            )
            holder.rollback()
        check_cases(served.base_url, f"{table} unlocked", [Case("/health/ready", 200)])
        return measured


def check_refuses_without(
    variable: str, image: Image, command: list[str], env: Mapping[str, str]
) -> None:
    """Without `variable`, the process stops at once naming it: production settings are in
    effect, and no development fallback (a throwaway secret) exists in the image."""
    try:
        completed = image.run(command, {k: v for k, v in env.items() if k != variable}, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{shlex.join(command)}` kept running without {variable}")
    assert completed.returncode != 0, f"`{shlex.join(command)}` started without {variable}"
    assert variable in completed.stdout + completed.stderr


@dataclass(frozen=True)
class SettingsProbe:
    """A command printing the settings in effect, and what it prints under production."""

    command: list[str]
    production: str


def check_services(services: list[Service], image: Image, page: str, probe: SettingsProbe) -> None:
    """Each service starts with exactly its environment and stays up, passes the healthcheck
    that applies to it, runs production settings (the probe, in the same environment), and
    refuses to start without its secret."""
    for service in services:
        port = free_port()  # each container has port 8000 to itself; here they share a host
        env = {**service.env, "PORT": str(port)}
        with image.start(service.command, env) as process:
            if service.serves_http:
                base_url = f"http://127.0.0.1:{port}"
                wait_for_health(base_url, process)
                status, headers, _ = http_response(base_url + page, HTTPS)
                assert status == 200, f"{service.name} {page}: {status}"
                # Compose serves plain HTTP on your machine, where HSTS promises nothing.
                assert_security_headers(headers, hsts=False)
            else:
                time.sleep(3)  # long enough to fail on a bad import or setting
                if process.popen.poll() is not None:
                    process.fail("exited")
            check_healthcheck(service.healthcheck, env, image, process)
        settings = image.run(probe.command, env, timeout=120)
        assert settings.stdout.split() == probe.production.split(), (
            f"{service.name}: {settings.stdout}{settings.stderr}"
        )
        if service.secret:
            check_refuses_without(service.secret, image, service.command, env)
