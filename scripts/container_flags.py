#!/usr/bin/python3
"""The `docker run` flags that reproduce the Kubernetes manifests' securityContext and volumes.

scripts/deploy-check runs the image with exactly these flags, so the manifests and what is
tested cannot drift apart. Every workload in deploy/*.yaml must ask for the same sandbox;
a securityContext key this script does not translate is an error, never silently dropped.
Prints one argument per line. Runs on Debian's python3 with python3-yaml (no venv needed).

Usage: container_flags.py DEPLOY_DIR VOLUME_PREFIX
Each emptyDir volume mounted in the containers becomes the docker volume VOLUME_PREFIX<name>.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

POD_KEYS = {"runAsNonRoot", "runAsUser", "runAsGroup", "seccompProfile"}
CONTAINER_KEYS = {"allowPrivilegeEscalation", "readOnlyRootFilesystem", "capabilities"}


def pod_specs(deploy_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """(manifest name, pod spec) for every Job and Deployment."""
    specs = []
    for path in sorted(deploy_dir.glob("*.yaml")):
        specs.extend(
            (path.name, doc["spec"]["template"]["spec"])
            for doc in yaml.safe_load_all(path.read_text())
            if doc and doc.get("kind") in ("Job", "Deployment")
        )
    if not specs:
        raise SystemExit(f"container_flags: no Job or Deployment in {deploy_dir}")
    return specs


def security_flags(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    pod_ctx, ctx = pod.get("securityContext", {}), container.get("securityContext", {})
    unknown = (set(pod_ctx) - POD_KEYS) | (set(ctx) - CONTAINER_KEYS)
    if unknown:
        raise SystemExit(f"container_flags: no docker equivalent known for securityContext {sorted(unknown)}")
    flags = []
    user, group = pod_ctx.get("runAsUser"), pod_ctx.get("runAsGroup")
    if pod_ctx.get("runAsNonRoot") and not user:
        raise SystemExit("container_flags: runAsNonRoot needs a non-zero runAsUser to be checked")
    if user is not None:
        flags += ["--user", f"{user}:{group if group is not None else user}"]
    if ctx.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    for cap in ctx.get("capabilities", {}).get("drop", []):
        flags += ["--cap-drop", cap]
    for cap in ctx.get("capabilities", {}).get("add", []):
        flags += ["--cap-add", cap]
    if ctx.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    seccomp = pod_ctx.get("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp == "Unconfined":
        flags += ["--security-opt", "seccomp=unconfined"]
    elif seccomp != "RuntimeDefault":  # RuntimeDefault is Docker's default profile: no flag
        raise SystemExit(f"container_flags: seccompProfile {seccomp!r} has no docker equivalent here")
    return flags


def volume_flags(pod: dict[str, Any], container: dict[str, Any], prefix: str) -> list[str]:
    empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    flags = []
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in empty_dirs:
            raise SystemExit(f"container_flags: volume {mount['name']!r} is not an emptyDir")
        flags += ["--mount", f"type=volume,source={prefix}{mount['name']},destination={mount['mountPath']}"]
    return flags


def main(deploy_dir: Path, prefix: str) -> None:
    variants = {}
    for name, pod in pod_specs(deploy_dir):
        for container in pod["containers"]:
            flags = security_flags(pod, container) + volume_flags(pod, container, prefix)
            variants.setdefault(tuple(flags), []).append(f"{name}:{container['name']}")
    if len(variants) != 1:
        detail = "; ".join(f"{' '.join(flags)} <- {', '.join(names)}" for flags, names in variants.items())
        raise SystemExit(f"container_flags: the manifests ask for different sandboxes: {detail}")
    print("\n".join(next(iter(variants))))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), sys.argv[2])
