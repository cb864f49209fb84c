"""The import contracts of pyproject.toml ([tool.importlinter], docs/architecture.md) hold,
and they do fail when an import breaks the layer order or closes a circle."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.cli import lint_imports
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.layers import LayersContract

from app.desk.hooks import MESSAGE_ADDED
from app.email.service import mail_staff_reply
from app.features import FEATURES
from app.main import create_app
from app.settings import Settings

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
CONFIG: dict[str, Any] = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
CONTRACTS = {contract["id"]: contract for contract in CONFIG["contracts"]}
CONTRACT_TYPES = {"layers": LayersContract, "acyclic": AcyclicSiblingsContract}


def test_the_import_contracts_hold() -> None:
    assert lint_imports(config_filenames=(str(PYPROJECT),), no_cache=True, no_logo=True) == 0


@pytest.fixture
def graph() -> grimp.ImportGraph:
    # a fresh graph per check: a contract removes its ignored imports from the graph
    return grimp.build_graph(*CONFIG["root_packages"], cache_dir=None)


def _kept(graph: grimp.ImportGraph, contract_id: str) -> bool:
    options = {k: v for k, v in CONTRACTS[contract_id].items() if k not in ("id", "name", "type")}
    contract = CONTRACT_TYPES[contract_id](
        name=contract_id,
        session_options={"root_packages": CONFIG["root_packages"]},
        contract_options=options,
    )
    return contract.check(graph, verbose=False).kept


@pytest.mark.parametrize(
    ("importer", "imported", "contract_id"),
    [
        ("credits.service", "app.desk.service", "layers"),  # the ledger reaching up
        ("app.kit.db", "credits.models", "layers"),  # plumbing reaching into a feature
        ("app.desk.service", "app.email.service", "layers"),  # the desk knowing the e-mail
        ("app.desk.cli", "app.cli", "layers"),  # the circle issue 17 removed
        ("app.desk.repository", "app.desk.endpoints", "acyclic"),  # a circle inside a feature
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    graph: grimp.ImportGraph, importer: str, imported: str, contract_id: str
) -> None:
    assert not graph.direct_import_exists(importer=importer, imported=imported)
    graph.add_import(importer=importer, imported=imported)
    assert not _kept(graph, contract_id)


def test_every_feature_is_plugged_in_by_the_one_list() -> None:
    app = create_app(Settings(_env_file=None, periodic_tasks_enabled=False))
    documented = set(app.openapi()["paths"])
    for feature in FEATURES:
        paths = {
            route.path
            for route in feature.routers[0].routes if getattr(route, "include_in_schema", False)
        } if feature.routers else set()  # fmt: skip
        assert paths <= documented, feature.name
    assert all(feature.routers for feature in FEATURES)
    # the cross-feature reaction is wired by the registry, not by an import
    assert mail_staff_reply in MESSAGE_ADDED.handlers
    names = [feature.name for feature in FEATURES]
    assert len(names) == len(set(names))
