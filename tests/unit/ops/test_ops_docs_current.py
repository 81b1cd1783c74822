"""docs/asyncapi.json and docs/openapi.json are generated from the code and must be current."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

from bf_shared import subjects

from .deploy_facts import ROOT


def gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_published_documents_match_the_code() -> None:
    stale = [str(path.relative_to(ROOT)) for path, text in gen_docs().outputs().items()
             if not path.exists() or path.read_text() != text]
    assert stale == [], f"{stale} out of date: run `python scripts/gen_docs.py` and commit the result"


def test_every_durable_subject_is_documented_with_its_model() -> None:
    doc = json.loads((ROOT / "docs" / "asyncapi.json").read_text())
    addresses = {c["address"] for c in doc["channels"].values()}
    durable = {v for v in vars(subjects).values() if isinstance(v, str) and v.startswith(("bf.evt.", "bf.cmd.")) and ">" not in v}
    assert durable - addresses == set(), "a new subject needs an entry in scripts/gen_docs.py"
    assert {"TestFailed", "ConnectionAdded", "AuditRecord", "ProbeRequest"} <= set(doc["components"]["schemas"])


def test_openapi_has_the_operations_routes() -> None:
    paths = json.loads((ROOT / "docs" / "openapi.json").read_text())["paths"]
    assert {"get", "put"} <= set(paths["/api/v1/notifications"]) and "get" in paths["/api/v1/audit"]
