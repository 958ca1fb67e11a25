"""Stand-ins for dbt's cross-database macros (`dbt.hash`, `dbt.concat`, ...) for sqlfluff's jinja templater.

sqlfluff lints dbt_project with the plain jinja templater (no dbt parse, no database): these render SQL of the
same shape as the real macros so every model templates and parses. Not used by dbt.
"""


def hash(expr):  # noqa: A001 - dbt's name
    return f"md5(cast({expr} as varchar))"


def concat(fields):
    return " || ".join(fields)


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"({from_date_or_timestamp} + interval ({interval}) {datepart})"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
    return f"string_agg({measure}, {delimiter_text} {order_by_clause or ''})"


def date_spine(datepart, start_date, end_date):
    return (f"select cast(range as date) as date_{datepart} "
            f"from range({start_date}, {end_date}, interval 1 {datepart})")


def type_string():
    return "varchar"


def type_bigint():
    return "bigint"


def type_numeric():
    return "numeric(28, 6)"


def type_timestamp():
    return "timestamp"


def type_float():
    return "double"


def split_part(string_text, delimiter_text, part_number):
    return f"split_part({string_text}, {delimiter_text}, {part_number})"
