"""Read table definitions and query examples straight from the seed documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"


def seed_text(prefix: str) -> str:
    matches = sorted(SEEDS.glob(f"{prefix}_*.txt")) if SEEDS.is_dir() else []
    if not matches:
        pytest.skip(f"seed {prefix}_*.txt not found under {SEEDS} (it lives in ../shared/seeds)")
    return "\n".join(m.read_text(encoding="utf-8") for m in matches)


def erd_tables(text: str) -> dict[str, list[str]]:
    """Tables of a mermaid erDiagram: ``NAME { type column ... }`` -> lower-case name: columns."""
    tables = {}
    for name, body in re.findall(r"^\s*([A-Z_]+)\s*\{(.*?)\}", text, flags=re.S | re.M):
        cols = [line.split()[1] for line in body.strip().splitlines() if len(line.split()) >= 2]
        tables[name.lower()] = cols
    return tables


def ddl_tables(text: str) -> dict[str, list[str]]:
    """Tables of ``CREATE TABLE name ( ... );`` blocks -> name: columns."""
    tables = {}
    for name, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\n\);", text, flags=re.S):
        cols = []
        for line in body.splitlines():
            line = line.strip()
            if not line or line.startswith("--") or line.split()[0].upper() in {"UNIQUE", "PRIMARY", "CONSTRAINT", "CHECK", "FOREIGN"}:
                continue
            cols.append(line.split()[0])
        tables[name] = cols
    return tables


def sql_examples(text: str) -> list[str]:
    """Every ```sql block that is a SELECT query."""
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    return [b.strip() for b in blocks if b.strip().upper().startswith("SELECT")]
