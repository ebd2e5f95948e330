"""The deployment files in deploy/: parsed and checked structurally.

Neither hadolint nor Helm (nor Dagster's chart) can be installed from this machine's package
sources, so the Dockerfile is checked by its instructions and the Helm values by their keys.
"""

import importlib
import re
import shlex
from pathlib import Path

import pytest
import yaml

from dagster_project.defs.engine import ENGINES, pipeline_executor
from tests.robustness.conftest import ROOT
from tests.robustness.test_production_instance import POSTGRES_FROM_ENVIRONMENT

DEPLOY = ROOT / "deploy"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def test_dockerfile_pins_installs_graphviz_and_runs_as_non_root() -> None:
    steps = instructions(DEPLOY / "Dockerfile")
    stages = [args for kw, args in steps if kw == "FROM"]
    assert stages == ["python:3.11.11-slim-bookworm AS build", "python:3.11.11-slim-bookworm"]
    runs = [args for kw, args in steps if kw == "RUN"]
    pip = [r for r in runs if "pip install" in r]
    assert len(pip) == 1
    assert "-c constraints.txt" in pip[0] and "--no-cache-dir" in pip[0]
    for apt in (r for r in runs if "apt-get install" in r):
        assert "--no-install-recommends" in apt and "rm -rf /var/lib/apt/lists/*" in apt
    final = steps[[kw for kw, _ in steps].index("FROM", 1) :]  # the runtime stage
    final_runs = [args for kw, args in final if kw == "RUN"]
    assert any(re.search(r"apt-get install .*\bgraphviz\b", r) for r in final_runs)
    users = [args for kw, args in final if kw == "USER"]
    assert users == ["10001:10001"]  # numeric: Kubernetes' runAsNonRoot can verify it
    assert any("useradd --system --uid 10001" in r for r in final_runs)
    assert [kw for kw, _ in final][-1] == "CMD"
    command = yaml.safe_load(final[-1][1])  # the exec form is a JSON (so YAML) list
    assert command[:3] == ["dagster", "api", "grpc"]
    assert command[command.index("--module-name") + 1] == "dagster_project.definitions"
    assert "ENV" in [kw for kw, _ in final]


def test_dockerfile_copies_what_the_package_needs() -> None:
    steps = instructions(DEPLOY / "Dockerfile")
    copied = []
    for kw, args in steps:
        if kw == "COPY" and not args.startswith("--from"):
            copied += shlex.split(args)[:-1]
    assert (ROOT / "constraints.txt").name in copied
    for source in copied:
        assert (ROOT / source).exists(), source
    packages = {"pipelines", "mining", "optimize", "dagster_project", "bpo"}
    assert packages <= {Path(s).name for s in copied}
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not packages & set(ignored)


def _walk(node: object, path: str = "") -> list[tuple[str, object]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _walk(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [leaf for i, v in enumerate(node) for leaf in _walk(v, f"{path}[{i}]")]
    return [(path, node)]


def test_helm_values_run_this_image_with_k8s_jobs_and_secrets_from_kubernetes() -> None:
    values = yaml.safe_load((DEPLOY / "helm-values.yaml").read_text(encoding="utf-8"))
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert values["dagster-user-deployments"]["enabled"] is True
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "dagster_project.definitions"]
    module = importlib.import_module(deployment["dagsterApiGrpcArgs"][1])
    assert "bpo_pipeline" in {job.name for job in module.defs.jobs}
    assert deployment["port"] == 3030
    assert deployment["image"]["tag"] != "latest"
    assert deployment["podSecurityContext"]["runAsUser"] == 10001
    env = {item["name"]: item["value"] for item in deployment["env"]}
    assert env["BPO_EXECUTOR"] == "k8s" and env["BPO_EXECUTOR"] in ENGINES
    assert env["BPO_STORAGE"].startswith("s3://") and env["BPO_OUT"].startswith("s3://")
    assert deployment["envSecrets"] == [{"name": "bpo-object-storage"}]
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    assert launcher["config"]["k8sRunLauncher"]["envSecrets"] == [{"name": "bpo-object-storage"}]
    # PostgreSQL outside the chart, its password only in a Kubernetes secret
    assert values["postgresql"]["enabled"] is False
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"] == "dagster-postgresql-secret"
    assert (values["rabbitmq"]["enabled"], values["redis"]["enabled"]) == (False, False)
    assert values["telemetry"] == {"enabled": False}
    # no literal credential anywhere: nothing named like one carries a value
    for path, value in _walk(values):
        key = re.split(r"[.\[]", path)[-1]
        if isinstance(value, str) and re.search(r"password|accesskey|token|credential", key, re.I):
            pytest.fail(f"{path} holds a literal value: {value!r}")
    for item in deployment["env"]:
        assert not re.search(r"KEY|SECRET|PASSWORD|TOKEN", item["name"]), item["name"]


def test_celery_instance_takes_everything_secret_from_the_environment() -> None:
    config = yaml.safe_load((DEPLOY / "dagster-celery.yaml").read_text(encoding="utf-8"))
    db = config["storage"]["postgres"]["postgres_db"]
    assert db == POSTGRES_FROM_ENVIRONMENT
    assert config["telemetry"] == {"enabled": False}
    text = (DEPLOY / "dagster-celery.yaml").read_text(encoding="utf-8")
    for variable in ("BPO_EXECUTOR=celery", "BPO_CELERY_BROKER", "BPO_STORAGE", "BPO_OUT"):
        assert variable in text  # documented beside the settings they complete


def test_the_executor_follows_bpo_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BPO_EXECUTOR", raising=False)
    assert pipeline_executor() is None  # Dagster's default: multiprocess
    monkeypatch.setenv("BPO_EXECUTOR", "celery")
    monkeypatch.setenv("BPO_CELERY_BROKER", "redis://:pw@127.0.0.1:6399/0")
    executor = pipeline_executor()
    assert executor is not None and executor.name == "celery"
    monkeypatch.setenv("BPO_EXECUTOR", "dask")
    with pytest.raises(ValueError, match=r"BPO_EXECUTOR='dask': use one of multiprocess, celery"):
        pipeline_executor()
