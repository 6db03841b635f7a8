"""deploy=kubernetes, proven offline on every framework, with and without Celery: both kustomize
overlays render with kubectl (shipped in a wheel), every object validates against the Kubernetes
OpenAPI schemas (kubernetes-validate, strict), checkov finds none of the usual mistakes, and the
objects run what the image and the compose file run. Render-only: nothing is installed."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

pytestmark = [pytest.mark.templates, pytest.mark.xdist_group("kubernetes")]

# Kubernetes needs a database server and Django's media in a bucket (copier.yml refuses a SQLite
# file or a local media volume); the Flask row without a database has no migration Job.
DJANGO = {"framework": "django", "database": "postgres", "storage": "s3"}
PROJECTS: dict[str, dict[str, Any]] = {
    "django": DJANGO,
    "django-celery": {**DJANGO, "celery": True},
    "flask": {"framework": "flask", "database": "postgres"},
    "flask-celery-no-database": {"framework": "flask", "extensions": ["celery", "limiter"]},
    "fastapi": {"framework": "fastapi", "database": "postgres"},
    "fastapi-celery": {"framework": "fastapi", "database": "postgres", "background": "celery"},
    "fastapi-operated": {
        "framework": "fastapi",
        "database": "postgres",
        "observability": True,
        "sentry": True,
    },
}
OVERLAYS = ("dev", "prod")

# What each framework's init container waits on: a command that fails while a migration is
# unapplied and changes nothing.
MIGRATED_CHECK = {
    "django": "python manage.py migrate --check",
    "flask": "flask --app wsgi db check",
    "fastapi": "alembic current --check-heads",
}
# Where each framework serves its probes.
HEALTH_MODULE = {
    "django": "config/health.py",
    "flask": "{slug}/health.py",
    "fastapi": "app/api/health.py",
}

# checkov's checks that do not fit, each with its reason; every other check must pass.
CHECKOV_SKIPS = {
    "CKV_K8S_43": "the prod overlay pins one image tag per release (use a digest where tags move)",
    "CKV_K8S_15": "with a tag per release IfNotPresent is right, and Always would break images "
    "loaded into a local cluster (kind load) for the dev overlay",
    "CKV_K8S_35": "the apps read their settings from the environment, the Secret's included",
    "CKV_K8S_8": "beat serves nothing to probe; web's and the worker's liveness are asserted here",
    "CKV_K8S_9": "worker and beat take no traffic; web's readiness is asserted here",
}


def tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def render(destination: Path, answers: dict[str, Any]) -> Path:
    """The project `stackwise new` writes, without the lock and the first commit."""
    from stackwise.answers import answer_text
    from stackwise.catalog import template_for
    from stackwise.render import NewProject, new_project

    data = {key: answer_text(value) for key, value in answers.items() if key != "framework"}
    data["deploy"] = "kubernetes"
    template = template_for(answers["framework"])
    new_project(NewProject(destination, template, data=data, git=False, lock=False))
    return destination


def kustomize(project: Path, overlay: str) -> str:
    completed = subprocess.run(
        [tool("kubectl"), "kustomize", str(project / "deploy" / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


class Rendered:
    def __init__(self, project: Path, answers: dict[str, Any], overlays: dict[str, str]) -> None:
        self.project = project
        self.answers = answers
        self.framework: str = answers["framework"]
        self.slug = project.name  # the folder's name, so the default project_slug
        self.app = self.slug.replace("_", "-")
        self.text = overlays
        self.objects = {name: list(yaml.safe_load_all(text)) for name, text in overlays.items()}

    def get(self, overlay: str, kind: str, name: str) -> dict[str, Any]:
        found = [
            o
            for o in self.objects[overlay]
            if o["kind"] == kind and o["metadata"]["name"] == f"{self.app}{name}"
        ]
        assert len(found) == 1, f"{kind} {self.app}{name} in {overlay}"
        return found[0]

    def workloads(self, overlay: str) -> list[dict[str, Any]]:
        return [o for o in self.objects[overlay] if o["kind"] in ("Deployment", "Job")]

    def compose_commands(self) -> dict[str, str]:
        compose = yaml.safe_load((self.project / "docker-compose.yml").read_text())
        return {
            name: service["command"]
            for name, service in compose["services"].items()
            if "command" in service
        }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Each project rendered once, and both of its overlays built by kubectl."""
    root = tmp_path_factory.mktemp("k8s")
    result = {}
    for key, answers in PROJECTS.items():
        project = render(root / ("shop_" + key.replace("-", "_")), answers)
        overlays = {overlay: kustomize(project, overlay) for overlay in OVERLAYS}
        result[key] = Rendered(project, answers, overlays)
    return result


@pytest.fixture(params=PROJECTS, ids=str)
def case(request: pytest.FixtureRequest, rendered: dict[str, Rendered]) -> Rendered:
    return rendered[request.param]


def celery_on(case: Rendered) -> bool:
    answers = case.answers
    return bool(
        answers.get("celery")
        or "celery" in answers.get("extensions", [])
        or answers.get("background") == "celery"
    )


def migrates(case: Rendered) -> bool:
    return case.framework != "flask" or "migrate" in case.answers.get("extensions", ["migrate"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_overlay_validates_against_the_openapi_schemas(
    case: Rendered, overlay: str
) -> None:
    version = kubernetes_validate.latest_version()
    for document in case.objects[overlay]:
        kubernetes_validate.validate(document, version, strict=True)

    kinds = sorted({f"{o['kind']}/{o['metadata']['name']}" for o in case.objects[overlay]})
    app = case.app
    expected = {
        "Service/" + app,
        "Ingress/" + app,
        f"Deployment/{app}-web",
        f"HorizontalPodAutoscaler/{app}-web",
        f"PodDisruptionBudget/{app}-web",
        "NetworkPolicy/" + app,
        f"NetworkPolicy/{app}-web",
    }
    if migrates(case):
        expected.add(f"Job/{app}-migrate")
    if celery_on(case):
        expected.add(f"Deployment/{app}-worker")
    if celery_on(case) and case.framework == "django":
        expected.add(f"Deployment/{app}-beat")
    config = [k for k in kinds if k.startswith("ConfigMap/")]
    assert len(config) == 1 and re.fullmatch(rf"ConfigMap/{app}-config-[a-z0-9]+", config[0])
    assert set(kinds) - set(config) == expected


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_pods_run_as_the_images_user_read_only_without_privileges(
    case: Rendered, overlay: str
) -> None:
    dockerfile = DockerfileParser(str(case.project / "Dockerfile"))
    user = next(i["value"] for i in dockerfile.structure if i["instruction"] == "USER")
    uid, gid = (int(part) for part in user.split(":"))
    for workload in case.workloads(overlay):
        pod = workload["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": gid,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"] + pod.get("initContainers", []):
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }
            # The only writable place: what the processes write goes there (gunicorn's heartbeat
            # files, beat's schedule).
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]
            assert set(container["resources"]) == {"requests", "limits"}
            assert {"cpu", "memory"} <= set(container["resources"]["limits"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_secret_is_referenced_never_rendered_and_the_readme_creates_it(
    case: Rendered, overlay: str
) -> None:
    assert not [o for o in case.objects[overlay] if o["kind"] == "Secret"]
    secret = f"{case.app}-secrets"
    config = next(o for o in case.objects[overlay] if o["kind"] == "ConfigMap")
    for workload in case.workloads(overlay):
        pod = workload["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            assert container["envFrom"] == [
                {"configMapRef": {"name": config["metadata"]["name"]}},
                {"secretRef": {"name": secret}},
            ]
    readme = (case.project / "README.md").read_text()
    namespace = case.app if overlay == "prod" else f"{case.app}-dev"
    command = f"kubectl -n {namespace} create secret generic {secret}"
    assert command in readme
    created = readme.split(command, 1)[1].split("\nkubectl", 1)[0]
    keys = set(re.findall(r"--from-literal=([A-Z_]+)=", created))
    # Whatever the app refuses to start without is among them.
    assert {"DATABASE_URL"} <= keys or not migrates(case)
    assert any(key.endswith("SECRET_KEY") for key in keys)
    assert not (keys & set(config["data"])), "a setting both secret and in the ConfigMap"
    assert ("METRICS_TOKEN" in keys) == bool(case.answers.get("observability"))
    assert ("SENTRY_DSN" in keys) == bool(case.answers.get("sentry"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_network_policy_lets_in_only_the_ingress_and_prometheus(
    case: Rendered, overlay: str
) -> None:
    web = case.get(overlay, "NetworkPolicy", "-web")["spec"]
    sources = [s["namespaceSelector"]["matchLabels"] for s in web["ingress"][0]["from"]]
    namespaces = {labels["kubernetes.io/metadata.name"] for labels in sources}
    scraped = bool(case.answers.get("observability"))
    assert namespaces == ({"ingress-nginx", "monitoring"} if scraped else {"ingress-nginx"})
    every_pod = case.get(overlay, "NetworkPolicy", "")["spec"]
    assert every_pod["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in every_pod
    ports = {p["port"] for rule in every_pod["egress"] for p in rule["ports"]}
    assert ({4317, 4318} <= ports) == scraped


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_web_probes_ask_the_paths_the_app_serves(case: Rendered, overlay: str) -> None:
    web = case.get(overlay, "Deployment", "-web")["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert web["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert web["ports"] == [{"name": "http", "containerPort": 8000}]
    source = (case.project / HEALTH_MODULE[case.framework].format(slug=case.slug)).read_text()
    assert '"/health"' in source and '"/health/ready"' in source


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_processes_run_the_images_and_the_compose_files_commands(
    case: Rendered, overlay: str
) -> None:
    compose = case.compose_commands()
    web_command = shlex.split(compose["web"])
    served = web_command[-1].split(" && ")[-1] if web_command[0] == "sh" else compose["web"]
    cmd = json.loads(DockerfileParser(str(case.project / "Dockerfile")).cmd)
    # The web container runs the image's CMD, which is what compose serves after migrating.
    web = case.get(overlay, "Deployment", "-web")["spec"]["template"]["spec"]["containers"][0]
    assert "command" not in web and "args" not in web
    assert cmd == shlex.split(served)
    if celery_on(case):
        worker = case.get(overlay, "Deployment", "-worker")["spec"]["template"]["spec"]
        command = worker["containers"][0]["command"]
        assert command[: len(shlex.split(compose["worker"]))] == shlex.split(compose["worker"])
        probe = worker["containers"][0]["livenessProbe"]["exec"]["command"]
        assert "inspect ping --destination celery@$HOSTNAME" in probe[-1]
    if "beat" in compose:
        beat = case.get(overlay, "Deployment", "-beat")["spec"]
        assert beat["replicas"] == 1 and beat["strategy"] == {"type": "Recreate"}
        command = beat["template"]["spec"]["containers"][0]["command"]
        assert command[: len(shlex.split(compose["beat"]))] == shlex.split(compose["beat"])
        assert "--schedule=/tmp/celerybeat-schedule" in command  # the writable volume


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_new_version_serves_only_after_the_migration_job(
    case: Rendered, overlay: str
) -> None:
    deployments = [o for o in case.workloads(overlay) if o["kind"] == "Deployment"]
    if not migrates(case):
        assert all("initContainers" not in d["spec"]["template"]["spec"] for d in deployments)
        return
    job = case.get(overlay, "Job", "-migrate")["spec"]
    compose_web = shlex.split(case.compose_commands()["web"])[-1]
    migrate = compose_web.split(" && ")[0]
    assert job["template"]["spec"]["containers"][0]["command"] == shlex.split(migrate)
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    check = MIGRATED_CHECK[case.framework]
    for deployment in deployments:
        (init,) = deployment["spec"]["template"]["spec"]["initContainers"]
        assert init["command"][:2] == ["sh", "-c"]
        assert init["command"][2].startswith(f"until {check}; do ")
        assert init["image"] == job["template"]["spec"]["containers"][0]["image"]
    web = case.get(overlay, "Deployment", "-web")["spec"]
    # Old pods keep serving until new ones (past their init container) are ready.
    assert web["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_kubernetes_overlays_differ_where_a_local_cluster_and_production_do(
    case: Rendered,
) -> None:
    dev_config = next(o for o in case.objects["dev"] if o["kind"] == "ConfigMap")["data"]
    prod_config = next(o for o in case.objects["prod"] if o["kind"] == "ConfigMap")["data"]
    plain_http = "DJANGO_SECURE_SSL_REDIRECT" if case.framework == "django" else "FORCE_HTTPS"
    assert dev_config[plain_http] == "false" and plain_http not in prod_config
    assert case.get("prod", "Ingress", "")["spec"]["tls"] == [
        {"hosts": [f"{case.app}.example.com"], "secretName": f"{case.app}-tls"}
    ]
    assert "tls" not in case.get("dev", "Ingress", "")["spec"]
    assert case.get("dev", "HorizontalPodAutoscaler", "-web")["spec"]["minReplicas"] == 1
    assert case.get("prod", "HorizontalPodAutoscaler", "-web")["spec"]["minReplicas"] >= 2
    assert "replicas" not in case.get("prod", "Deployment", "-web")["spec"]  # the HPA's
    prod_image = case.get("prod", "Deployment", "-web")["spec"]["template"]["spec"]
    assert prod_image["containers"][0]["image"] == f"registry.example.com/{case.app}:0.1.0"


def test_kubernetes_manifests_pass_checkov(rendered: dict[str, Rendered], tmp_path: Path) -> None:
    for key, project in rendered.items():
        for overlay, text in project.text.items():
            (tmp_path / f"{key}-{overlay}.yaml").write_text(text)
    completed = subprocess.run(
        [
            tool("checkov"),
            "--directory",
            str(tmp_path),
            "--framework",
            "kubernetes",
            "--skip-download",  # offline: no policy metadata from the vendor's API
            "--skip-check",
            ",".join(CHECKOV_SKIPS),
            "--output",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(completed.stdout)
    failed = [
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})"
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert report["summary"]["passed"] > 100  # it read the manifests
    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize("framework", ["django", "flask", "fastapi"])
def test_kubernetes_refuses_a_sqlite_file_that_several_pods_would_share(
    framework: str, tmp_path: Path
) -> None:
    from stackwise.errors import InvalidAnswerError

    with pytest.raises(InvalidAnswerError, match="cannot share a SQLite file"):
        render(tmp_path / "shop", {"framework": framework, "database": "sqlite"})
    assert not (tmp_path / "shop").exists()


def test_kubernetes_refuses_django_media_on_a_local_volume(tmp_path: Path) -> None:
    from stackwise.errors import InvalidAnswerError

    with pytest.raises(InvalidAnswerError, match="cannot share a local media volume"):
        render(tmp_path / "shop", {**DJANGO, "storage": "local"})
    assert not (tmp_path / "shop").exists()
