"""Every vocabulary's CHECK list in the migrated database (pg_constraint of the head schema)
holds exactly the values of the enum or tuple in code it was built from
(service.platform.db.one_of), and every one_of in the models is in the database: `alembic
check` does not compare CHECK constraints, so a value added to an enum without a migration (or
a migration that left the code behind) would otherwise be found only by a refused INSERT."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import CheckConstraint, text
from sqlalchemy.ext.asyncio import AsyncSession

import service.domain.all_models  # noqa: F401 - every model on Base.metadata
from service.platform.db import ONE_OF, Base

# How PostgreSQL prints `col IN ('a', 'b')` on a varchar or text column, and one value.
_LIST = re.compile(r"^CHECK \(\(\(?(\w+)\)?(?:::text)? = ANY \((.*)\)\)\)$")
_SINGLE = re.compile(r"^CHECK \(\(\(?(\w+)\)?(?:::text)? = '([^']*)'::\w+( varying)?\)\)$")
_VALUE = re.compile(r"'((?:[^']|'')*)'")


@dataclass(frozen=True)
class Vocabulary:
    table: str
    name: str
    column: str
    values: frozenset[str]


def parse(table: str, name: str, definition: str) -> Vocabulary | None:
    """A CHECK constraint's definition as pg_get_constraintdef prints it, when it is a list."""
    if m := _LIST.match(definition):
        inner = m.group(2)
        values = [v.replace("''", "'") for v in _VALUE.findall(inner)]
        if "ARRAY[" not in inner:  # one array literal: '{a,b}'::text[]
            values = [v for raw in values for v in raw.strip("{}").split(",")]
        return Vocabulary(table, name, m.group(1), frozenset(values))
    if m := _SINGLE.match(definition):
        return Vocabulary(table, name, m.group(1), frozenset([m.group(2)]))
    return None


def in_code() -> dict[tuple[str, str], Vocabulary]:
    found = {}
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and ONE_OF in constraint.info:
                column, values = constraint.info[ONE_OF]
                raw = str(constraint.name)
                name = raw if raw.startswith("ck_") else f"ck_{table.name}_{raw}"
                found[(table.name, name)] = Vocabulary(table.name, name, column, frozenset(values))
    return found


def drift(
    database: dict[tuple[str, str], Vocabulary], code: dict[tuple[str, str], Vocabulary]
) -> list[str]:
    problems = []
    for key in sorted(database.keys() - code.keys()):
        problems.append(f"{key[0]}.{key[1]}: a CHECK list in the database, no one_of in code")
    for key in sorted(code.keys() - database.keys()):
        problems.append(f"{key[0]}.{key[1]}: one_of in code, not in the migrated database")
    for key in sorted(database.keys() & code.keys()):
        db, ours = database[key], code[key]
        if db.column != ours.column:
            problems.append(f"{key[0]}.{key[1]}: on {db.column} in the database, {ours.column}")
        if only_db := sorted(db.values - ours.values):
            problems.append(f"{key[0]}.{key[1]}: only the database allows {only_db}")
        if only_code := sorted(ours.values - db.values):
            problems.append(f"{key[0]}.{key[1]}: only the code allows {only_code}")
    return problems


async def in_database(db: AsyncSession) -> dict[tuple[str, str], Vocabulary]:
    rows = await db.execute(
        text(
            "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE k.contype = 'c' AND n.nspname = 'public'"
        )
    )
    found = {}
    for table, name, definition in rows:
        if (vocabulary := parse(table, name, definition)) is not None:
            found[(table, name)] = vocabulary
    return found


async def test_every_check_list_matches_its_vocabulary_in_code(db: AsyncSession) -> None:
    database, code = await in_database(db), in_code()
    # The comparison saw the vocabularies, not two empty sets.
    assert len(database) >= 20
    assert ("bookings", "ck_bookings_status_valid") in database
    assert drift(database, code) == []


def _v(*values: str, column: str = "status") -> Vocabulary:
    return Vocabulary("bookings", "ck_bookings_status_valid", column, frozenset(values))


KEY = ("bookings", "ck_bookings_status_valid")


@pytest.mark.parametrize(
    ("database", "code", "says"),
    [
        ({KEY: _v("a", "b")}, {KEY: _v("a", "b", "c")}, "only the code allows ['c']"),
        ({KEY: _v("a", "b", "c")}, {KEY: _v("a", "b")}, "only the database allows ['c']"),
        ({KEY: _v("a")}, {}, "no one_of in code"),
        ({}, {KEY: _v("a")}, "not in the migrated database"),
        ({KEY: _v("a", column="kind")}, {KEY: _v("a")}, "on kind in the database"),
    ],
)
def test_drift_is_found_in_either_direction(
    database: dict[tuple[str, str], Vocabulary],
    code: dict[tuple[str, str], Vocabulary],
    says: str,
) -> None:
    [problem] = drift(database, code)
    assert says in problem


@pytest.mark.parametrize(
    ("definition", "values"),
    [
        (
            "CHECK (((status)::text = ANY ((ARRAY['confirmed'::character varying, "
            "'waitlisted'::character varying])::text[])))",
            {"confirmed", "waitlisted"},
        ),
        (
            "CHECK (((status)::text = ANY ('{confirmed,waitlisted}'::text[])))",
            {"confirmed", "waitlisted"},
        ),
        ("CHECK (((kind)::text = 'web'::text))", {"web"}),
        ("CHECK ((capacity >= 0))", None),
        ("CHECK (((status)::text <> 'sending'::text OR lease_until IS NOT NULL))", None),
    ],
)
def test_the_parser_reads_what_postgresql_prints(definition: str, values: set[str] | None) -> None:
    parsed = parse("t", "ck", definition)
    if values is None:
        assert parsed is None
    else:
        assert parsed is not None and parsed.values == values
