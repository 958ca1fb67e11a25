"""Personal data (emails, phones, people's names, marketplace buyer handles) never reaches marts/finance in clear.

Every such value the raw layer holds is collected (columns found by name in every raw_* schema, so a new
source column is covered too) and looked for in every text column of every marts/finance table, ignoring
case and whitespace: emails, phones, full names and buyer handles anywhere inside a value, single first or
last names as a whole value. Sales reps' own names (their work identity) are a contract column
(`rep_name`, docs/architecture.md: Warehouse layout) and are not scanned; reps' emails are.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.runner import RunOutcome

# raw columns holding personal data, found by name in every raw_* schema (GraphQL names an address or number
# field inside its object: defaultEmailAddress.emailAddress -> default_email_address__email_address)
PII_COLUMN = r"(^|_)(e_?mail(_?address)?|phone(_?number)?|first_?name|last_?name|username)$"
KNOWN_PII = {  # columns the sources are known to deliver: the scan must find at least these
    "raw_crm.contacts.properties__email",
    "raw_crm.contacts.properties__phone",
    "raw_crm.contacts.properties__firstname",
    "raw_crm.contacts.properties__lastname",
    "raw_crm.companies.properties__phone",
    "raw_crm.owners.email",
    "raw_shopify.customers.default_email_address__email_address",
    "raw_shopify.customers.first_name",
    "raw_shopify.customers.last_name",
    "raw_shopify.orders.email",
    "raw_shopify.abandoned_checkouts.customer__default_email_address__email_address",
    "raw_amazon.orders.buyer_info__buyer_email",
    "raw_ebay.orders.buyer__username",
}
# personal data in key/value rows: (schema, table, key column, value column) -> {key: kind}; a guest's email on
# an abandoned checkout is one of its cart attributes
KEY_VALUE_PII = {("raw_shopify", "abandoned_checkouts__custom_attributes", "key", "value"): {"email": "email"}}
REP_TABLES = ("owners",)  # raw_crm.owners: the sales reps; their names are not personal data of customers
NORMALIZE = "lower(regexp_replace({}, '\\s+', '', 'g'))"


def _kind(column: str) -> str:
    c = column.lower().replace("_", "").removesuffix("address").removesuffix("number")
    for kind in ("email", "phone", "firstname", "lastname", "username"):
        if c.endswith(kind):
            return kind
    raise ValueError(column)


READS_SHARED_BUILD = True


@pytest.fixture(scope="module")
def built(warehouse: Path, main_run: RunOutcome) -> Path:
    return warehouse


def _pii_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() where database_name = 'wh' "
        "and schema_name like 'raw\\_%' escape '\\' and schema_name not like '%\\_staging' escape '\\' "
        "and data_type = 'VARCHAR' and regexp_matches(lower(column_name), ?) order by 1, 2, 3",
        [PII_COLUMN],
    ).fetchall()


def _norm(column: str) -> str:
    return NORMALIZE.format(f'"{column}"')


def _collect_tokens(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Fill the temp table pii(kind, token, whole) from the raw layer; distinct tokens per kind."""
    con.execute("create temp table pii (kind varchar, token varchar, whole boolean)")
    columns = _pii_columns(con)
    found = {".".join(c) for c in columns}
    assert found >= KNOWN_PII, KNOWN_PII - found
    by_table: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column in columns:
        by_table.setdefault((schema, table), {})[_kind(column)] = column
    rep_names: set[str] = set()
    for (schema, table), cols in by_table.items():
        src, is_rep = f'wh."{schema}"."{table}"', table in REP_TABLES
        names = [cols[k] for k in ("firstname", "lastname") if k in cols]
        if len(names) == 2:
            full = NORMALIZE.format(f"coalesce(\"{names[0]}\", '') || coalesce(\"{names[1]}\", '')")
            if is_rep:
                rep_names |= {
                    r[0]
                    for r in con.execute(
                        f"select {full} from {src} union select {_norm(names[0])} from {src} "
                        f"union select {_norm(names[1])} from {src}"
                    ).fetchall()
                }
            else:
                con.execute(f"insert into pii select distinct 'fullname', {full}, false from {src}")
        for kind, column in cols.items():
            if is_rep and column in names:
                continue
            con.execute(
                f'insert into pii select distinct ?, {_norm(column)}, ? from {src} where "{column}" is not null',
                [kind, column in names],
            )
    for (schema, table, key, value), kinds in KEY_VALUE_PII.items():
        for name, kind in kinds.items():
            added = con.execute(
                f'insert into pii select distinct ?, {_norm(value)}, false from wh."{schema}"."{table}" '
                f'where "{key}" = ? and "{value}" is not null',
                [kind, name],
            ).fetchone()[0]
            assert added > 0, f"no {name} in {schema}.{table}"  # the raw layer holds them: the scan must see them
    # a customer who shares a rep's name is indistinguishable from the rep in rep_name: not a leak
    con.execute(
        "delete from pii where token is null or length(token) < 3 or token in (select unnest(?))",
        [sorted(n for n in rep_names if n)],
    )
    # phones also as bare digits (+1-555-0123456 -> 15550123456)
    con.execute(
        "insert into pii select 'phone', regexp_replace(token, '[^0-9]', '', 'g'), false from pii "
        "where kind = 'phone' and length(regexp_replace(token, '[^0-9]', '', 'g')) >= 7"
    )
    return dict(con.execute("select kind, count(distinct token) from pii group by 1").fetchall())


def _leaks(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(schema.table.column, kind, a sample value) for every pii token found in a marts/finance text column."""
    text_columns = con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() where database_name = 'wh' "
        "and schema_name in ('marts', 'finance') and data_type = 'VARCHAR' order by 1, 2, 3"
    ).fetchall()
    assert len(text_columns) > 10
    leaks = []
    for schema, table, column in text_columns:
        hits = con.execute(
            f'with v as (select distinct {_norm(column)} as val, "{column}" as raw from wh."{schema}"."{table}") '
            "select p.kind, any_value(v.raw) from v join pii as p on p.whole and v.val = p.token group by 1 union all "
            "select p.kind, any_value(v.raw) from v join pii as p on not p.whole and contains(v.val, p.token) "
            "group by 1"
        ).fetchall()
        leaks += [(f"{schema}.{table}.{column}", kind, sample) for kind, sample in hits]
    return leaks


def test_no_personal_data_in_marts_or_finance(built: Path) -> None:
    con = duckdb.connect()
    con.execute(f"attach '{built}' as wh (read_only)")
    tokens = _collect_tokens(con)
    for kind in ("email", "phone", "firstname", "lastname", "fullname", "username"):
        assert tokens.get(kind, 0) > 0, (kind, tokens)  # the raw layer really holds personal data to look for
    leaks = _leaks(con)
    con.close()
    assert not leaks, f"personal data in marts/finance: {leaks[:20]}"
