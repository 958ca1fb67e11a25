"""Stand-in for dbt's `adapter` object for sqlfluff's jinja templater (see dbt.py). Not used by dbt."""


def dispatch(macro_name, macro_namespace=None):
    """The SQL of an adapter-dispatched macro is linted in its default__/duckdb__ definitions: a placeholder here."""
    return lambda *args, **kwargs: f"{macro_name}({', '.join(str(a) for a in args)})"


def get_columns_in_relation(relation):
    return []


def get_relation(database=None, schema=None, identifier=None):
    """Lint the branch of a model that reads an existing relation."""
    return f"{schema}.{identifier}"
