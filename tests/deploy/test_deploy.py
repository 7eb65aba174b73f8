"""The systemd unit, the Dockerfile and the Kubernetes manifests, checked as far as this machine can."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_DIR, defaults_only

from synthpay import config
from synthpay.config import placeholders

UNIT = REPO_DIR / "systemd" / "synthpay.service"
#: `systemd-analyze security --offline=true` measured 1.1 (systemd 252); the unit must not get worse.
EXPOSURE_MAX = 1.1
DEFAULT_GRACE_S = defaults_only().run.shutdown_grace_s
ENV_NAMES = {name for names in config.env_names().values() for name in names}

needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")


def unit_settings(text: str) -> list[tuple[str, str]]:
    return [
        (key.strip(), value.strip())
        for line in text.splitlines()
        if line.strip() and not line.startswith(("#", "[")) and "=" in line
        for key, value in [line.split("=", 1)]
    ]


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(s|min)?", value)
    assert match, value
    return int(match[1]) * (60 if match[2] == "min" else 1)


def verify(unit: Path) -> str:
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr + ("" if result.returncode == 0 else f"\nexit {result.returncode}")


@needs_systemd_analyze
def test_unit_verifies_without_warnings(tmp_path: Path) -> None:
    # verify insists that ExecStart exists: check a copy that runs this venv's synthpay.
    here = Path(sys.executable).parent / "synthpay"
    copy = tmp_path / "synthpay.service"
    copy.write_text(UNIT.read_text().replace("/opt/synthpay/bin/synthpay", str(here)))
    assert str(here) in copy.read_text()
    assert verify(copy).strip() == ""
    # The check can fail: an unknown directive is reported.
    copy.write_text(copy.read_text() + "\n[Service]\nNoSuchDirective=yes\n")
    assert "Unknown key" in verify(copy)


@needs_systemd_analyze
def test_unit_security_exposure() -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for synthpay\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match[1]) <= EXPOSURE_MAX
    systemd_page = (REPO_DIR / "docs" / "how-to" / "systemd.md").read_text()
    assert f"exposure level {EXPOSURE_MAX}" in systemd_page


def test_unit_protocol_timeouts_and_secrets() -> None:
    settings = dict(unit_settings(UNIT.read_text()))
    assert settings["Type"] == "notify" and settings["NotifyAccess"] == "main"
    assert settings["ExecStart"].startswith("/opt/synthpay/bin/synthpay run --config /etc/synthpay/config.toml")
    assert seconds(settings["TimeoutStopSec"]) > DEFAULT_GRACE_S + defaults_only().kafka.flush_timeout_s
    assert seconds(settings["WatchdogSec"]) > 0
    assert settings["DynamicUser"] == "yes" and settings["CapabilityBoundingSet"] == ""
    assert settings["RestrictAddressFamilies"] == "AF_UNIX AF_NETLINK AF_INET AF_INET6"
    environment = [v.split("=", 1) for k, v in unit_settings(UNIT.read_text()) if k == "Environment"]
    credentials = {v.split(":", 1)[0] for k, v in unit_settings(UNIT.read_text()) if k == "LoadCredential"}
    assert environment
    for name, _ in environment:
        assert name in ENV_NAMES
    # Only the names of credentials, never a secret itself.
    secrets = [(name, value) for name, value in environment if re.search("PASSWORD|SECRET", name)]
    assert len(secrets) == 2
    for name, value in secrets:
        assert name.endswith("_FILE") and value in credentials


# --- the Dockerfile (its text; scripts/deploy-check builds and runs the image)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#")))
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in joined.splitlines() if ln.strip()]


def build_arg_defaults(steps: list[tuple[str, str]]) -> dict[str, str]:
    """The defaults of the ARGs declared before the first FROM (those FROM may use)."""
    first_from = next(i for i, (kind, _) in enumerate(steps) if kind == "FROM")
    return dict(args.split("=", 1) for kind, args in steps[:first_from] if kind == "ARG" and "=" in args)


def test_dockerfile() -> None:
    steps = instructions((REPO_DIR / "Dockerfile").read_text())
    defaults = build_arg_defaults(steps)
    # The base is a build argument (CI builds on a local base); its default is the official image.
    bases = [re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], args) for kind, args in steps if kind == "FROM"]
    assert len(bases) == 2 and bases[0].endswith(" AS build")
    for base in bases:
        image = base.split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", image), image  # an exact, slim tag
    runtime = steps[max(i for i, (kind, _) in enumerate(steps) if kind == "FROM") :]
    kinds = dict(runtime)
    assert re.fullmatch(r"\d+:\d+", kinds["USER"]) and not kinds["USER"].startswith("0")
    assert kinds["WORKDIR"] == "/app"
    assert json.loads(kinds["ENTRYPOINT"]) == ["/opt/synthpay/bin/synthpay", "run"]
    assert "/healthz" in kinds["HEALTHCHECK"] and "curl" not in kinds["HEALTHCHECK"]
    assert kinds["EXPOSE"] == "8080"
    http_port_env = config.env_names()["http.port"][0]
    assert f"{http_port_env}=8080" in kinds["ENV"]
    assert any(kind == "COPY" and args.startswith("--from=build /opt/synthpay ") for kind, args in runtime)
    declared = [args for kind, args in steps if kind in ("ARG", "ENV")]
    assert declared
    for args in declared:
        assert not re.search("SECRET|PASSWORD|API_KEY|TOKEN", args, re.IGNORECASE), args
    ignored = (REPO_DIR / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored and ".git" in ignored


# --- Kubernetes manifests (no YAML parser in the dependencies: a structural text check;
# scripts/deploy-check runs the image under their securityContext)

DEPLOY = REPO_DIR / "deploy"


def env_entries(text: str) -> dict[str, str]:
    """name -> literal value or 'secret:<name>/<key>' for each container env entry."""
    entries: dict[str, str] = {}
    for match in re.finditer(
        r"- name: (\S+)\n\s+(?:value: (.+)|valueFrom:\n\s+secretKeyRef:\n\s+name: (\S+)\n\s+key: (\S+))", text
    ):
        name, value, secret, key = match.groups()
        entries[name] = f"secret:{secret}/{key}" if secret else value.split(" #")[0].strip().strip('"')
    return entries


@pytest.mark.parametrize("name", ["job.yaml", "indexed-job.yaml", "deployment.yaml"])
def test_manifest_environment_and_secrets(name: str) -> None:
    text = (DEPLOY / name).read_text()
    assert "\t" not in text
    env = env_entries(text)
    assert env, name
    assert any(re.search("PASSWORD|SECRET|USERNAME|API_KEY", variable) for variable in env), name
    for variable, value in env.items():
        assert variable in ENV_NAMES, variable  # every name means something to synthpay
        if re.search("PASSWORD|SECRET|USERNAME|API_KEY", variable):
            assert value.startswith("secret:"), variable
    assert env["KAFKA_SASL_PASSWORD"] == "secret:kafka-cluster-key/password"
    assert env["SCHEMA_REGISTRY_API_SECRET"] == "secret:sr-cluster-key/password"
    grace = int(re.search(r"terminationGracePeriodSeconds: (\d+)", text)[1])  # type: ignore[index]
    assert grace > DEFAULT_GRACE_S
    assert "runAsNonRoot: true" in text and "allowPrivilegeEscalation: false" in text
    assert "restartPolicy: Never" in text or name == "deployment.yaml"


def test_indexed_job_splits_the_run() -> None:
    text = (DEPLOY / "indexed-job.yaml").read_text()
    for line in ("completionMode: Indexed", "completions: 3", "parallelism: 3"):
        assert f"\n  {line}\n" in text
    assert env_entries(text)["SYNTHPAY_RUN_INSTANCE_COUNT"] == "3"
    # The index comes from Kubernetes, through the alias of run.instance_index.
    assert "JOB_COMPLETION_INDEX" in config.env_names()["run.instance_index"]


def test_deployment_runs_continuously_with_probes() -> None:
    text = (DEPLOY / "deployment.yaml").read_text()
    env = env_entries(text)
    assert env["NUM_PAYMENTS"] == "0" and float(env["SYNTHPAY_RUN_RATE"]) > 0
    port = env["SYNTHPAY_HTTP_PORT"]
    assert f"containerPort: {port}" in text
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert re.search(rf"{probe}:\n\s+httpGet:\n\s+path: {path}\n", text), probe
    assert re.search(r"resources:\n\s+requests:\n(.|\n)*limits:\n\s+cpu: .+\n\s+memory: .+", text)


def test_file_sink_output_is_a_volume_under_the_read_only_root() -> None:
    steps = instructions((REPO_DIR / "Dockerfile").read_text())
    # Every run's own directory lies under the default's shared parent (out/{run_id}: out).
    out = f"/app/{placeholders.shared_parent(defaults_only().file.dir)}"
    assert json.loads(dict(steps)["VOLUME"]) == [out]
    assert any(kind == "RUN" and re.search(rf"install -d -o (\d+) -g \1 .*{out}\b", args) for kind, args in steps)
    for name in ("job.yaml", "indexed-job.yaml", "deployment.yaml"):
        text = (DEPLOY / name).read_text()
        assert "readOnlyRootFilesystem: true" in text
        assert re.search(rf"volumeMounts:\n\s+- name: (\S+)\n\s+mountPath: {out}\n", text), name
        assert re.search(r"volumes:\n\s+- name: out\n\s+emptyDir: \{\}\n", text), name
