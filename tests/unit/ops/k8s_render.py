"""A small, strict kustomize renderer for ``deploy/k8s`` (no kubectl needed in the test suite).

It implements exactly the kustomization fields the project uses — resources (files),
namespace, labels (with includeTemplates), configMapGenerator (files, no name hash) and
images (newTag/newName) — and refuses any other field, so a manifest feature it does not
understand can never be silently ignored by the tests.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "namespace", "labels", "resources", "generatorOptions", "configMapGenerator", "images"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}
WORKLOADS = {"Deployment", "StatefulSet", "Job", "DaemonSet"}

Doc = dict[str, Any]


class UnsupportedKustomization(ValueError):
    """The kustomization uses a field this renderer does not implement."""


def _containers(doc: Doc) -> list[Doc]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("containers", []), *spec.get("initContainers", [])]


def render(root: Path) -> list[Doc]:
    """Every object ``kubectl kustomize root`` would print (for the supported subset)."""
    kust = yaml.safe_load((root / "kustomization.yaml").read_text())
    unknown = set(kust) - SUPPORTED
    if unknown:
        raise UnsupportedKustomization(f"unsupported kustomization fields: {sorted(unknown)}")
    if not kust.get("generatorOptions", {}).get("disableNameSuffixHash"):
        raise UnsupportedKustomization("generated names must not be hashed (disableNameSuffixHash: true)")
    docs: list[Doc] = []
    for resource in kust.get("resources", []):
        path = root / resource
        if not path.is_file():
            raise UnsupportedKustomization(f"only file resources are supported: {resource}")
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for gen in kust.get("configMapGenerator", []):
        if set(gen) - {"name", "files"}:
            raise UnsupportedKustomization(f"unsupported generator fields in {gen['name']}")
        data = {Path(f).name: (root / f).read_text() for f in gen["files"]}
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]}, "data": data})
    docs = [copy.deepcopy(d) for d in docs]
    namespace = kust.get("namespace")
    for doc in docs:
        meta = doc.setdefault("metadata", {})
        if namespace and doc["kind"] not in CLUSTER_SCOPED:
            meta["namespace"] = namespace
        for entry in kust.get("labels", []):
            if entry.get("includeSelectors"):
                raise UnsupportedKustomization("labels with includeSelectors are not supported")
            meta.setdefault("labels", {}).update(entry["pairs"])
            if entry.get("includeTemplates") and doc["kind"] in WORKLOADS:
                doc["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {}).update(entry["pairs"])
        for container in _containers(doc):
            for image in kust.get("images", []):
                name, _, _tag = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    return docs
