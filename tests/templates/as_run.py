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
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
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
    url: str, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """GET a loopback URL without following redirects: (status, lower-cased headers, body)."""
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 (loopback)
    try:
        with _opener.open(request, timeout=5) as response:
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
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
        services.redis_url = f"{server.rsplit('/', 1)[0]}/{1 + int(worker or 0) % 15}"
    if not postgres:
        yield services
        return
    server = require_service(
        "PostgreSQL", "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    with fresh_postgres_database(server) as database_url:
        services.postgres_url = database_url
        yield services


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
    step's output by its command. A failing step fails the test with what it printed."""
    checkout = clone(project, workdir / "checkout")
    workflow = yaml.safe_load((checkout / ".github" / "workflows" / "ci.yml").read_text())
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
    healthcheck: list[str] | None
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
    """Docker's .dockerignore rule: the last matching pattern wins; `!` re-includes."""
    ignore_file = context / ".dockerignore"
    lines = ignore_file.read_text().splitlines() if ignore_file.is_file() else []
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    def matches(path: str, pattern: str) -> bool:
        pattern = pattern.strip("/")
        candidates = [path, *(str(p) for p in Path(path).parents if str(p) != ".")]
        if pattern.startswith("**/"):
            tail = pattern[3:]
            return any(fnmatchcase(Path(c).name, tail) or fnmatchcase(c, tail) for c in candidates)
        return any(fnmatchcase(c, pattern) for c in candidates)

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:
            if pattern.startswith("!"):
                verdict = verdict and not matches(path, pattern[1:])
            elif matches(path, pattern):
                verdict = True
        return verdict

    return ignored


def _healthcheck(value: str) -> list[str] | None:
    if value.strip().upper() == "NONE":
        return None
    command = value[value.upper().index("CMD") + 3 :].strip()
    return json.loads(command) if command.startswith("[") else ["sh", "-c", command]


def _chown(root: Path, uid: int, gid: int) -> None:
    for path in [root, *root.rglob("*")]:
        os.lchown(path, uid, gid)


def check_healthcheck(
    command: list[str] | None, env: Mapping[str, str], image: Image, process: Process
) -> None:
    """The healthcheck that applies to a running process passes (retried, as docker does)."""
    if command is None:
        return
    deadline = time.monotonic() + 60
    while True:
        completed = image.run(command, env)
        if completed.returncode == 0:
            return
        if time.monotonic() > deadline or process.popen.poll() is not None:
            process.fail(
                f"never passed its healthcheck `{shlex.join(command)}`:\n"
                f"{completed.stdout}{completed.stderr}"
            )
        time.sleep(1)


# --- what the README tells a deployer --------------------------------------------------------


@dataclass
class DockerRun:
    env: dict[str, str]
    command: list[str]  # empty: the image's CMD


def readme_docker_runs(project: Path) -> list[DockerRun]:
    """Every `docker run` in the README's shell blocks: its `-e` variables and its command."""
    readme = (project / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    runs = []
    for line in lines:
        words = shlex.split(line, comments=True)
        if words[:2] != ["docker", "run"]:
            continue
        env: dict[str, str] = {}
        rest = iter(words[2:])
        for word in rest:
            if word in ("-e", "--env"):
                name, _, value = next(rest).partition("=")
                env[name] = value
            elif word in ("-p", "-v", "--name", "--env-file", "--network"):
                next(rest)
            elif not word.startswith("-"):
                runs.append(DockerRun(env, list(rest)))
                break
    assert runs, "the README shows no `docker run` command"
    return runs


@dataclass
class Deployer:
    """What a deployer gives the variables the README asks for: one secret for every process."""

    services: LocalServices
    image: Image
    secrets: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, shown: str) -> str:
        if name.endswith("SECRET_KEY"):
            return self.secrets.setdefault(name, secrets.token_urlsafe(50))
        if name.endswith("ALLOWED_HOSTS"):
            return "127.0.0.1,localhost"
        if name == "FORWARDED_ALLOW_IPS":
            return "127.0.0.1"  # the test's requests stand in for the proxy's
        if name == "DATABASE_URL":
            if shown.startswith("sqlite"):
                return self.image.path(shown)
            assert self.services.postgres_url, "a PostgreSQL URL without a local PostgreSQL"
            return self.services.postgres_url
        if name == "REDIS_URL" and self.services.redis_url:
            return self.services.redis_url
        pytest.fail(f"the README asks deployers to set {name}; this test cannot give it a value")

    def env(self, run: DockerRun) -> dict[str, str]:
        return {name: self.value(name, shown) for name, shown in run.env.items()}


# --- the compose file ------------------------------------------------------------------------


@dataclass
class ComposeService:
    name: str
    command: list[str]
    env: dict[str, str]
    healthcheck: list[str] | None  # None: no check applies
    needs_secret: str | None  # a variable the service reads from .env, required by compose
    serves_http: bool  # it publishes a port


def compose_services(project: Path, image: Image, deployer: Deployer) -> list[ComposeService]:
    """The services of docker-compose.yml built from the project's image, as compose runs them."""
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    services = []
    for name, spec in compose["services"].items():
        if "build" not in spec:
            image_name = str(spec["image"]).split(":")[0]
            assert image_name in ("postgres", "redis"), f"no stand-in for service {name}"
            continue
        env, needs = {}, None
        for key, raw in (spec.get("environment") or {}).items():
            value, required = _interpolate(str(raw), deployer)
            needs = needs or required
            env[key] = image.path(deployer.services.map_url(value, {"db", "redis"}))
        command = spec.get("command") or image.cmd
        if isinstance(command, str):
            command = shlex.split(command)
        healthcheck = _compose_healthcheck(spec, image)
        services.append(ComposeService(name, command, env, healthcheck, needs, "ports" in spec))
    return services


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


def _compose_healthcheck(spec: Mapping[str, object], image: Image) -> list[str] | None:
    check = spec.get("healthcheck")
    if check is None:
        return image.healthcheck
    assert isinstance(check, dict)
    if check.get("disable"):
        return None
    test = check["test"]
    if isinstance(test, str):
        return ["sh", "-c", test.replace("$$", "$")]
    kind, *command = test
    if kind == "CMD-SHELL":
        return ["sh", "-c", command[0].replace("$$", "$")]
    assert kind == "CMD", test
    return [part.replace("$$", "$") for part in command]


# --- the proofs every template shares --------------------------------------------------------

HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating proxy adds
DEBUG_PAGE_MARKERS = (b"Traceback", b"URLconf", b"Werkzeug Debugger", b"DEBUG = True")


def check_ci_workflow(project: Path, workdir: Path, services: LocalServices) -> None:
    """The workflow passes as written, and its test suite ran every test (services were there)."""
    outputs = run_ci_workflow(project, workdir, services)
    suite = next(output for script, output in outputs.items() if script.endswith("pytest"))
    assert " passed" in suite, suite
    assert "skipped" not in suite, suite


@dataclass
class Served:
    base_url: str
    env: dict[str, str]  # the environment the server runs with, beyond the image's own
    process: Process


@contextmanager
def serving_as_documented(project: Path, image: Image, deployer: Deployer) -> Iterator[Served]:
    """The README's release commands, then the image's CMD with the README's variables; the
    server answers /health and passes the image's HEALTHCHECK."""
    runs = readme_docker_runs(project)
    for release in (r for r in runs if r.command):
        completed = image.run(release.command, deployer.env(release))
        assert completed.returncode == 0, (
            f"{release.command}:\n{completed.stdout}{completed.stderr}"
        )
    serve = next(r for r in runs if not r.command)
    port = free_port()
    env = {**deployer.env(serve), "PORT": str(port)}  # the platform's port, as PORT says
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


def check_compose_services(project: Path, image: Image, deployer: Deployer, page: str) -> list[str]:
    """Each service of the image in docker-compose.yml starts with the environment compose
    gives it, passes the healthcheck that applies to it, and runs production settings (it
    refuses to start without the secret compose requires). Returns the services' names."""
    services = compose_services(project, image, deployer)
    for service in services:
        port = free_port()  # each container has port 8000 to itself; here they share a host
        env = {**service.env, "PORT": str(port)}
        with image.start(service.command, env) as process:
            if service.serves_http:
                base_url = f"http://127.0.0.1:{port}"
                wait_for_health(base_url, process)
                status, headers, _ = http_response(base_url + page, HTTPS)
                assert status == 200, f"{service.name} {page}: {status}"
                # Compose serves plain HTTP on your machine, where HSTS would be a promise
                # nothing keeps; production is proven by the refusal without a secret below.
                assert_security_headers(headers, hsts=False)
            else:
                time.sleep(3)  # long enough to fail on a bad import or setting
                if process.popen.poll() is not None:
                    process.fail("exited")
            check_healthcheck(service.healthcheck, env, image, process)
        if service.needs_secret:
            check_refuses_without(service.needs_secret, image, service.command, env)
    return [service.name for service in services]
