"""The mappings package: its public surface, and the rule that it imports nothing but canonical."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import mappings

PACKAGE = Path(mappings.__file__).parent
ALLOWED_THIRD_PARTY = {"lxml", "pydantic"}


def _imported_roots(source: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_public_names_are_exported_and_exist():
    assert sorted(mappings.__all__) == [
        "InvoicePush", "Pain002Report", "canonical_to_pain001", "kingdee_invoice_to_canonical",
        "pain002_to_canonical", "validate_pain001", "yonyou_invoice_to_canonical"]
    assert all(hasattr(mappings, name) for name in mappings.__all__)


def test_mappings_import_only_canonical_the_standard_library_and_two_libraries():
    for source in PACKAGE.rglob("*.py"):
        foreign = _imported_roots(source) - {"canonical", "mappings", "__future__"} - (
            ALLOWED_THIRD_PARTY | set(sys.stdlib_module_names))
        assert not foreign, f"{source.name} imports {sorted(foreign)}"


def test_the_schemas_ship_inside_the_package():
    shipped = {p.name for p in (PACKAGE / "schemas").glob("*.xsd")}
    assert {"pain.001.001.09.xsd", "pain.002.001.10.xsd", "camt.054.001.08.xsd",
            "pacs.008.001.02.xsd"} <= shipped
