"""Compile registry rules into DuckDB SQL: one predicate per row rule, true when the row FAILS.

Everything here is pure string building. The predicates read VARCHAR columns of a raw table
(aliased `r`) and its `_loaded_at`, so "the future" means "after this row was loaded". They are
set-based and NULL-safe (`coalesce(..., false)`), so a whole load is evaluated in one scan; the
uniqueness rule is a window over the load.
"""

from __future__ import annotations

from python_models.contract import Rule


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _col(name: str) -> str:
    return f"r.{quote_ident(name)}"


def _filled(expr: str) -> str:
    return f"({expr} is not null and trim({expr}) <> '')"


def parse_timestamp_sql(expr: str) -> str:
    """ISO text (with Z, an offset or none) → naive UTC timestamp, NULL when it does not parse."""
    return f"(try_cast(trim({expr}) as timestamptz) at time zone 'UTC')"


def parse_date_sql(expr: str, month_first: str = "false") -> str:
    """Text → DATE in the common formats, NULL when none fits. `month_first` is a SQL boolean
    saying how to read an ambiguous `a/b/yyyy` (both parts ≤ 12); a part above 12 decides.

    Formats: ISO `yyyy-mm-dd` (a time after it is ignored), `yyyy/mm/dd`, compact `yyyymmdd`,
    and `d/m/yyyy` or `m/d/yyyy` with '/', '.' or '-'. The dbt macro `parse_date`
    (dbt_project/macros/dates.sql) is the same expression; tests/unit/test_birth_dates.py
    checks both on every format.
    """
    v = f"trim({expr})"
    ymd = (
        f"regexp_extract({v}, '^(\\d{{4}})[-/.](\\d{{1,2}})[-/.](\\d{{1,2}})([ T].*)?$', "
        "['y', 'm', 'd'])"
    )
    compact = f"regexp_extract({v}, '^(\\d{{4}})(\\d{{2}})(\\d{{2}})$', ['y', 'm', 'd'])"
    dmy = f"regexp_extract({v}, '^(\\d{{1,2}})[-/.](\\d{{1,2}})[-/.](\\d{{4}})$', ['a', 'b', 'y'])"

    def part(match: str, name: str) -> str:
        return f"cast(nullif({match}.{name}, '') as integer)"

    first_is_month = f"({part(dmy, 'b')} > 12 or ({part(dmy, 'a')} <= 12 and {month_first}))"
    return (
        f"coalesce("
        f"try(make_date({part(ymd, 'y')}, {part(ymd, 'm')}, {part(ymd, 'd')})), "
        f"try(make_date({part(compact, 'y')}, {part(compact, 'm')}, {part(compact, 'd')})), "
        f"try(make_date({part(dmy, 'y')}, "
        f"case when {first_is_month} then {part(dmy, 'a')} else {part(dmy, 'b')} end, "
        f"case when {first_is_month} then {part(dmy, 'b')} else {part(dmy, 'a')} end)))"
    )


def _month_first(rule: Rule) -> str:
    if len(rule.columns) < 2:
        return "false"
    countries = ", ".join(quote_literal(c) for c in rule.params.get("month_first_countries", ()))
    return f"coalesce(upper(trim({_col(rule.columns[1])})) in ({countries or 'null'}), false)"


#: "now" for a rule: the connection's as_of (python_models.warehouse.set_as_of), else the
#: row's load time. Written out rather than imported to keep this module free of I/O code.
NOW_SQL = "coalesce(try_cast(getvariable('customer360_as_of') as timestamp), r._loaded_at)"


def _bounds(value: str, params: dict) -> list[str]:
    out = []
    if params.get("min") is not None:
        out.append(f"{value} < {float(params['min'])!r}")
    if params.get("max") is not None:
        out.append(f"{value} > {float(params['max'])!r}")
    return out


def _bad_phone(expr: str, params: dict) -> str:
    digits = f"length(regexp_replace({expr}, '[^0-9]', '', 'g'))"
    return (
        f"(not regexp_full_match(trim({expr}), '[0-9 ()+.\\-]+')"
        f" or {digits} < {int(params['min_digits'])} or {digits} > {int(params['max_digits'])})"
    )


def failure_predicate(rule: Rule) -> str:
    """SQL boolean expression, true when a row of the rule's table fails `rule`."""
    c = _col(rule.column)
    p = rule.params
    kind = rule.kind
    if kind == "required":
        expr = f"not {_filled(c)}"
    elif kind == "regex":
        expr = f"{_filled(c)} and not regexp_full_match(trim({c}), {quote_literal(p['pattern'])})"
    elif kind == "phone":
        expr = f"{_filled(c)} and {_bad_phone(c, p)}"
    elif kind == "identifier_format":
        kind_of = f"lower(trim({_col(rule.columns[1])}))"
        bad_email = f"not regexp_full_match(trim({c}), {quote_literal(p['email_pattern'])})"
        expr = (
            f"{_filled(c)} and ((({kind_of}) = 'email' and {bad_email})"
            f" or (({kind_of}) = 'phone' and {_bad_phone(c, p)}))"
        )
    elif kind == "postcode_by_country":
        if len(rule.columns) > 1:
            country = f"upper(trim({_col(rule.columns[1])}))"
            cases = " ".join(
                f"when {quote_literal(cc)} then regexp_full_match(trim({c}), {quote_literal(rx)})"
                for cc, rx in sorted(p["patterns"].items())
            )
            # An unknown or missing country is not this rule's business.
            expr = f"{_filled(c)} and not (case {country} {cases} else true end)"
        else:  # no country column: any known country's format will do
            any_known = "|".join(f"({rx})" for rx in sorted(set(p["patterns"].values())))
            expr = f"{_filled(c)} and not regexp_full_match(trim({c}), {quote_literal(any_known)})"
    elif kind == "accepted_values":
        values = ", ".join(quote_literal(v) for v in p["values"])
        expr = f"{_filled(c)} and trim({c}) not in ({values})"
    elif kind in ("numeric", "integer"):
        value = f"try_cast(trim({c}) as double)"
        parse_fail = f"{value} is null"
        if kind == "integer":
            parse_fail += f" or {value} <> round({value})"
        checks = [parse_fail, *_bounds(value, p)]
        if p.get("not_zero"):
            checks.append(f"{value} = 0")
        expr = f"{_filled(c)} and ({' or '.join(checks)})"
    elif kind == "timestamp":
        ts = parse_timestamp_sql(c)
        tolerance = int(p.get("future_tolerance_hours", 0))
        expr = (
            f"{_filled(c)} and ({ts} is null or {ts} < timestamp {quote_literal(p['earliest'])}"
            f" or {ts} > {NOW_SQL} + interval {tolerance} hour)"
        )
    elif kind == "date":
        expr = f"{_filled(c)} and {parse_date_sql(c, _month_first(rule))} is null"
    elif kind == "age_years":
        # an unparseable date is the `date` rule's to count, not this one's
        born = parse_date_sql(c)
        years = f"date_sub('year', {born}, cast({NOW_SQL} as date))"
        expr = f"{_filled(c)} and ({years} < {int(p['min'])} or {years} > {int(p['max'])})"
    elif kind == "not_before":
        later, earlier = (parse_timestamp_sql(_col(x)) for x in rule.columns)
        expr = f"{later} < {earlier}"
    elif kind == "unique_in_load":
        key = ", ".join(f"trim({_col(x)})" for x in rule.columns)
        all_filled = " and ".join(_filled(_col(x)) for x in rule.columns)
        expr = (
            f"{all_filled} and row_number() over "
            f"(partition by r._load_id, {key} order by r._row_number) > 1"
        )
    elif kind == "json_numeric":
        raw = f"json_extract_string(try_cast({c} as json), {quote_literal(p['path'])})"
        value = f"try_cast({raw} as double)"
        checks = [f"({raw} is not null and {value} is null)", *_bounds(value, p)]
        expr = f"{_filled(c)} and ({' or '.join(checks)})"
    else:
        raise ValueError(f"rule {rule.name!r}: kind {kind!r} has no SQL row predicate")
    return f"coalesce({expr}, false)"


def failed_rules_expression(rules: list[Rule]) -> str:
    """A VARCHAR[] of the names of `rules` that the row fails (empty list when none)."""
    if not rules:
        return "[]::varchar[]"
    items = ", ".join(
        f"case when {failure_predicate(r)} then {quote_literal(r.name)} end" for r in rules
    )
    return f"list_filter([{items}]::varchar[], lambda x: x is not null)"


#: rule kinds whose predicate is a window over the load rather than a function of one row.
WINDOW_KINDS: frozenset[str] = frozenset({"unique_in_load"})


def rule_columns(rules: list[Rule]) -> list[str]:
    """The columns the predicates of `rules` read, metadata included, in a stable order."""
    read = {c for r in rules for c in r.columns} | {"_load_id", "_row_number", "_loaded_at"}
    return sorted(read)


def failing_rows_sql(source_sql: str, rules: list[Rule]) -> str:
    """`(_row_number, failed_rules)` for the rows of `source_sql` that fail any of `rules`.

    Cheaper than `evaluate_rules_sql` on a large load: the row-wise predicates are evaluated
    before the uniqueness window, so the window sorts only its key and a few booleans, and the
    list of rule names is built only for the (few) failing rows. `source_sql` needs only
    `rule_columns(rules)`.
    """
    if not rules:
        return (
            f"select r._row_number, []::varchar[] as failed_rules from ({source_sql}) as r limit 0"
        )
    flags = [f"_rule_{i}" for i in range(len(rules))]
    row_wise = [
        f"{failure_predicate(r)} as {f}"
        for r, f in zip(rules, flags, strict=True)
        if r.kind not in WINDOW_KINDS
    ]
    windowed = [
        f"{failure_predicate(r)} as {f}"
        for r, f in zip(rules, flags, strict=True)
        if r.kind in WINDOW_KINDS
    ]
    window_columns = {c for r in rules if r.kind in WINDOW_KINDS for c in r.columns}
    keep = [_col(c) for c in sorted(window_columns | {"_load_id", "_row_number"})]
    flagged = f"select {', '.join(keep + row_wise)} from ({source_sql}) as r"
    if windowed:
        flagged = f"select r.*, {', '.join(windowed)} from ({flagged}) as r"
    names = ", ".join(
        f"case when {f} then {quote_literal(r.name)} end" for r, f in zip(rules, flags, strict=True)
    )
    return (
        f"select _row_number, list_filter([{names}]::varchar[], lambda x: x is not null) "
        f"as failed_rules from ({flagged}) where {' or '.join(flags)}"
    )


def evaluate_rules_sql(source_sql: str, rules: list[Rule]) -> str:
    """Select every column of `source_sql` (aliased r) plus `failed_rules` for `rules`.

    `source_sql` must expose the raw columns and the `_` metadata columns.
    """
    return f"select r.*, {failed_rules_expression(rules)} as failed_rules from ({source_sql}) as r"


def rule_failure_counts_sql(source_sql: str, rules: list[Rule]) -> str:
    """One row: a failing-row count per rule (column named after the rule) and `rows_checked`."""
    counts = ", ".join(
        f"count(*) filter (where {quote_ident(r.name)}) as {quote_ident(r.name)}" for r in rules
    )
    flags = ", ".join(f"{failure_predicate(r)} as {quote_ident(r.name)}" for r in rules)
    sep = ", " if counts else ""
    return (
        f"select count(*) as rows_checked{sep}{counts} "
        f"from (select {flags or '1 as _one'} from ({source_sql}) as r)"
    )
