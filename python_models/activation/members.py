"""The SQL that decides who an audience exports, why the others are left out, and what each
exported row says.

Every rule is set work in DuckDB. The steps, each a temp table:

1. `members`: customers in the audience's segments (`any` or `all` of them).
2. `candidates`: each member with the address it may be written to and the FIRST reason, in
   a fixed order, that keeps it out of the files: erased, no email, email-marketing consent
   withdrawn / never given / not held by the address itself, an invalid address, the
   suppression list (complaint, hard bounce, unsubscribe), a duplicate address. The reasons
   are disjoint, so the manifest's counts add up to the members.
3. the holdout: eligible candidates whose hash of customer key and salt falls under the
   control share are the control group: assigned, recorded, and left out of the files.
4. `rows`: the exported customers' fields for the destination, with personalisation fields
   empty without personalization consent, values checked against the destination's limits
   (truncated or dropped, and counted) and, for the CSV only, spreadsheet formulas
   neutralised (OWASP: a leading `'`), and counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from python_models.activation.audiences import Audience
from python_models.activation.destinations import MERGE_FIELDS, Destination
from python_models.privacy.tombstones import tombstoned_sql

# An address an email tool will accept: one @, a local part that starts and ends with a
# letter or digit (so no CSV formula either), no consecutive dots, a dotted domain whose
# labels do not start or end with a hyphen, a top-level domain of letters; RFC 5321 lengths.
VALID_EMAIL_PATTERN = (
    r"[a-z0-9](?:[a-z0-9._%+'-]{0,62}[a-z0-9_%+'-])?"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
E164_PATTERN = r"\+[1-9][0-9]{6,14}"
COUNTRY_PATTERN = r"[A-Z]{2}"
FORMULA_PREFIX_PATTERN = "^[=+\\-@\t\r]"
SUPPRESSION_REASON_ORDER = ("complaint", "hard_bounce", "unsubscribe")
EXCLUSION_REASONS = (
    "erased",
    "no_email",
    "consent_withdrawn",
    "no_consent",
    "address_not_consented",
    "invalid_email",
    *(f"suppressed_{reason}" for reason in SUPPRESSION_REASON_ORDER),
    "duplicate_email",
)


@dataclass(frozen=True)
class WarehouseTables:
    """Where the export reads from and writes to; every name is `schema.table`."""

    membership: str = "marts.segment_membership"
    customers: str = "marts.dim_customers"
    consent: str = "marts.customer_consent"
    suppressions: str = "reference.email_suppressions"
    products: str = "marts.dim_products"
    churn_scores: str = "models.customer_churn_scores"
    recommendations: str = "models.customer_recommendations"
    clusters: str = "models.customer_clusters"
    tombstones: str = "privacy.tombstones"  # who is erased: `python_models.privacy.tombstones`
    schema: str = "exports"


@dataclass(frozen=True)
class ModelColumns:
    """Which optional model tables exist, and the columns found in them (None: absent)."""

    churn_band: str | None = None
    recommendation_rank: str | None = None
    recommendation_name: str | None = None  # a product-name column on the table itself
    recommendation_product: str | None = None  # else a product id to look up
    product_name: str | None = None
    clusters: bool = False
    erased: bool = False  # the warehouse holds erasure tombstones to check members against


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: Iterable[str]) -> str:
    return ", ".join(sql_literal(v) for v in values)


def assignment_bucket_sql(salt: str, key_expression: str = "customer_key") -> str:
    """A number in [0, 1) from the MD5 of `salt:customer_key`: the same in every run and
    engine (`python_models.activation.experiments.assignment_bucket` is its Python twin)."""
    return (
        f"cast(('0x' || substr(md5({sql_literal(salt + ':')} || {key_expression}), 1, 8))"
        " as ubigint) / 4294967296.0"
    )


def members_sql(audience: Audience, tables: WarehouseTables) -> str:
    segments = sql_list(audience.segments)
    having = (
        f"having count(distinct segment) = {len(set(audience.segments))}"
        if audience.match == "all"
        else ""
    )
    return f"""
        select customer_key
        from {tables.membership}
        where segment in ({segments})
        group by customer_key
        {having}
    """


def candidates_sql(
    members: str,
    destination: Destination,
    tables: WarehouseTables,
    models: ModelColumns,
    privacy_key: bytes | None = None,
) -> str:
    """One row per member: the address, consent, and the first reason it is not exported.

    A member is erased when the erasure tombstones hold its customer key or the address it
    would be written to (keyed hashes, so `privacy_key` is needed once tombstones exist):
    the same record that stops a re-extract bringing the person back keeps them out of
    every export, even if their profile came back some other way."""
    if models.erased:
        if privacy_key is None:
            raise ValueError(
                f"{tables.tombstones} holds erasure tombstones but the export got no HMAC "
                "key to check members against: set CUSTOMER360_PRIVACY_KEY"
            )
        address = "coalesce(email_consent.granted_email, customers.primary_email)"
        erased_flag = (
            tombstoned_sql(privacy_key, "customer_key", "members.customer_key", tables.tombstones)
            + " or "
            + tombstoned_sql(privacy_key, "email", address, tables.tombstones)
        )
    else:
        erased_flag = "false"
    suppression_rank = " ".join(
        f"when '{reason}' then {rank}" for rank, reason in enumerate(SUPPRESSION_REASON_ORDER)
    )
    dedupe = destination.key_source == "email"
    duplicate = (
        "row_number() over (partition by email, (exclusion is null) order by customer_key) > 1"
        if dedupe
        else "false"
    )
    return f"""
        with email_consent as (
            select customer_key, consent_state, granted_email
            from {tables.consent}
            where purpose = 'email_marketing'
        ),
        personalisation_consent as (
            select customer_key, is_granted
            from {tables.consent}
            where purpose = 'personalization'
        ),
        suppressions as (
            select
                lower(trim(email)) as email,
                arg_min(reason, case reason {suppression_rank} else 99 end) as reason
            from {tables.suppressions}
            where email is not null
            group by 1
        ),
        joined as (
            select
                members.customer_key,
                lower(trim(coalesce(email_consent.granted_email, customers.primary_email)))
                    as email,
                coalesce(email_consent.consent_state, 'no_consent') as email_consent_state,
                email_consent.granted_email is not null as address_consented,
                coalesce(personalisation_consent.is_granted, false) as personalisation_granted,
                customers.customer_key is null as missing_profile,
                coalesce({erased_flag}, false) as is_erased
            from {members} as members
            left join {tables.customers} as customers
                on members.customer_key = customers.customer_key
            left join email_consent on members.customer_key = email_consent.customer_key
            left join personalisation_consent
                on members.customer_key = personalisation_consent.customer_key
        ),
        first_reason as (
            select
                joined.*,
                case
                    when is_erased or missing_profile then 'erased'
                    when joined.email is null or joined.email = '' then 'no_email'
                    when email_consent_state = 'withdrawn' then 'consent_withdrawn'
                    when email_consent_state <> 'granted' then 'no_consent'
                    when not address_consented then 'address_not_consented'
                    when not regexp_full_match(joined.email, {sql_literal(VALID_EMAIL_PATTERN)})
                        or strlen(joined.email) > 254 then 'invalid_email'
                    when suppressions.reason is not null
                        then 'suppressed_' || suppressions.reason
                end as exclusion
            from joined
            left join suppressions on joined.email = suppressions.email
        )
        select
            * exclude (exclusion),
            case
                when exclusion is null and {duplicate} then 'duplicate_email'
                else exclusion
            end as exclusion
        from first_reason
    """


def _limited_text(expression: str, destination: Destination) -> str:
    if destination.text_max_bytes is not None:
        limit = destination.text_max_bytes
        # the longest prefix of whole characters within the byte limit (exact; evaluated
        # only for the rare value over it)
        fitting = (
            f"len(list_filter(list_transform(range(1, least(length({expression}), {limit}) + 1), "
            f"lambda n_chars: strlen(left({expression}, n_chars))), "
            f"lambda n_bytes: n_bytes <= {limit}))"
        )
        return (
            f"case when strlen({expression}) <= {limit} then {expression} "
            f"else left({expression}, {fitting}) end"
        )
    if destination.text_max_chars is not None:
        return f"left({expression}, {destination.text_max_chars})"
    return expression


def _text_over_limit(expression: str, destination: Destination) -> str:
    if destination.text_max_bytes is not None:
        return f"coalesce(strlen({expression}) > {destination.text_max_bytes}, false)"
    if destination.text_max_chars is not None:
        return f"coalesce(length({expression}) > {destination.text_max_chars}, false)"
    return "false"


@dataclass(frozen=True)
class FieldColumn:
    """One output column: its header, the raw expression and what may happen to it."""

    header: str
    snake: str
    merge_field: str
    kind: str
    expression: str  # raw value, before limits; personalisation and models applied


def field_columns(
    audience: Audience, destination: Destination, models: ModelColumns
) -> tuple[list[FieldColumn], list[str]]:
    """The merge-field columns and the fields whose model has not run (left empty)."""
    columns: list[FieldColumn] = []
    missing: list[str] = []
    for name in audience.fields:
        spec = MERGE_FIELDS[name]
        headers = destination.field_headers(name)
        available = {
            "churn_risk_band": models.churn_band is not None,
            "cluster_label": models.clusters,
            "recommended_products": models.recommendation_rank is not None
            and (models.recommendation_name is not None or models.product_name is not None),
        }.get(name, True)
        if not available:
            missing.append(name)
        for index, header in enumerate(headers, start=1):
            snake = name if spec.columns == 1 else f"recommended_product_{index}"
            raw = {
                "first_name": "profile.given_name",
                "last_name": "profile.family_name",
                "phone": "profile.phone",
                "country": "upper(profile.country)",
                "rfm_segment": "profile.rfm_segment",
                "last_order_date": "strftime(profile.last_order_at, '%Y-%m-%d')",
                "churn_risk_band": "churn.risk_band",
                "cluster_label": "profile.cluster_label",
            }.get(name, f"recommended.product_{index}")
            if not available:
                raw = "null"
            if spec.personalisation:
                raw = f"case when candidates.personalisation_granted then {raw} end"
            columns.append(FieldColumn(header, snake, name, spec.kind, f"cast({raw} as varchar)"))
    return columns, missing


def model_joins(tables: WarehouseTables, models: ModelColumns, audience: Audience) -> str:
    """Joins for the model-made fields the audience asks for and the warehouse has."""
    joins = []
    if "churn_risk_band" in audience.fields and models.churn_band:
        band = quote_identifier(models.churn_band)
        joins.append(f"""
            left join (
                select customer_key,
                    any_value(case when {band} <> 'not_scorable' then {band} end) as risk_band
                from {tables.churn_scores}
                group by 1
            ) as churn on churn.customer_key = candidates.customer_key""")
    if "recommended_products" in audience.fields and models.recommendation_rank:
        rank = quote_identifier(models.recommendation_rank)
        if models.recommendation_name:
            name = quote_identifier(models.recommendation_name)
            names = f"""
                select customer_key, {rank} as rank, {name} as product_name
                from {tables.recommendations}"""
        else:
            product = quote_identifier(models.recommendation_product or "product_id")
            name = quote_identifier(models.product_name or "product_name")
            names = f"""
                select recs.customer_key, recs.{rank} as rank, products.{name} as product_name
                from {tables.recommendations} as recs
                left join {tables.products} as products
                    on products.product_id = recs.{product}"""
        top_three = ", ".join(
            f"max(product_name) filter (where position = {i}) as product_{i}" for i in (1, 2, 3)
        )
        joins.append(f"""
            left join (
                select customer_key, {top_three}
                from (
                    select *, row_number() over (
                        partition by customer_key order by rank, product_name
                    ) as position
                    from ({names})
                    where product_name is not null
                )
                where position <= 3
                group by 1
            ) as recommended on recommended.customer_key = candidates.customer_key""")
    return "\n".join(joins)


def rows_sql(
    audience: Audience,
    columns: list[FieldColumn],
    exported: str,
    tables: WarehouseTables,
    models: ModelColumns,
) -> str:
    """The exported customers with each field's raw value (`raw_<i>`)."""
    selects = [
        "candidates.customer_key",
        "candidates.email",
        "candidates.personalisation_granted",
    ]
    for i, column in enumerate(columns):
        selects.append(f"{column.expression} as raw_{i}")
    return f"""
        select {", ".join(selects)}
        from {exported} as candidates
        left join {tables.customers} as profile
            on profile.customer_key = candidates.customer_key
        {model_joins(tables, models, audience)}
    """


@dataclass(frozen=True)
class FormattedRows:
    """The SQL that turns raw field values into checked ones, and how to read them back."""

    select: str  # from the raw rows: _customer_key, _email, _export_key, _checksum, t_i, c_i
    csv_columns: list[str]  # select list for the CSV, in the destination's order
    key_columns: list[str]  # select list of the key (and email) only, for `removed`
    table_columns: list[str]  # select list for the export table and the Parquet copy
    counts: dict[str, str]  # manifest count name -> aggregate over the raw rows


def formatted_rows(
    raw_rows: str, destination: Destination, columns: list[FieldColumn], audience: Audience
) -> FormattedRows:
    """Check every value against the destination's rules.

    `t_i` is the value for the table and Parquet (valid, within limits); `c_i` is the CSV
    value: the same, with a value that starts like a formula prefixed by `'` (then limited
    again, so the prefix never pushes it over). Each rule's count is reported.
    """
    key_expression = "email" if destination.key_source == "email" else "customer_key"
    value_selects: list[str] = []
    counts: dict[str, str] = {}
    neutralised_terms: list[str] = []
    for i, column in enumerate(columns):
        raw = f"raw_{i}"
        if column.kind in ("phone", "country"):
            pattern = E164_PATTERN if column.kind == "phone" else COUNTRY_PATTERN
            value = f"case when regexp_full_match({raw}, '{pattern}') then {raw} end"
            counts[f"dropped_invalid_{column.kind}:{column.header}"] = (
                f"count(*) filter (where {raw} is not null "
                f"and not regexp_full_match({raw}, '{pattern}'))"
            )
            value_selects += [f"{value} as t_{i}", f"{value} as c_{i}"]
            continue
        guarded = raw
        if column.kind == "text":
            guarded = (
                f"case when regexp_matches({raw}, '{FORMULA_PREFIX_PATTERN}') "
                f"then chr(39) || {raw} else {raw} end"
            )
            neutralised_terms.append(
                f"coalesce(regexp_matches({raw}, '{FORMULA_PREFIX_PATTERN}'), false)"
            )
        over = _text_over_limit(guarded, destination)
        if over != "false":
            counts[f"truncated_over_limit:{column.header}"] = f"count(*) filter (where {over})"
        value_selects += [
            f"{_limited_text(raw, destination)} as t_{i}",
            f"{_limited_text(guarded, destination)} as c_{i}",
        ]
    if neutralised_terms:
        terms = " + ".join(f"cast({term} as integer)" for term in neutralised_terms)
        counts["neutralised_formula_values"] = f"coalesce(sum({terms}), 0)"
    if any(MERGE_FIELDS[c.merge_field].personalisation for c in columns):
        counts["personalisation_left_empty"] = "count(*) filter (where not personalisation_granted)"

    checksum_parts = ", ".join(["_export_key", "_email", *(f"c_{i}" for i in range(len(columns)))])
    value_list = "".join(f"{v},\n            " for v in value_selects)
    select = f"""
        select
            customer_key as _customer_key,
            email as _email,
            {key_expression} as _export_key,
            {value_list}md5(to_json([{checksum_parts}])) as _checksum
        from {raw_rows}
    """
    key_columns = [f"_export_key as {quote_identifier(destination.key_column)}"]
    if destination.email_column:
        key_columns.append(f"_email as {quote_identifier(destination.email_column)}")
    csv_columns = list(key_columns)
    for header, constant in destination.constant_columns:
        csv_columns.append(f"{sql_literal(constant)} as {quote_identifier(header)}")
    csv_columns += [f"c_{i} as {quote_identifier(c.header)}" for i, c in enumerate(columns)]
    if destination.tags_column:
        csv_columns.append(
            f"{sql_literal(tags_cell(audience.tags))} "
            f"as {quote_identifier(destination.tags_column)}"
        )
    table_columns = ["_customer_key as customer_key", "_email as email"] + [
        f"t_{i} as {quote_identifier(c.snake)}" for i, c in enumerate(columns)
    ]
    return FormattedRows(select, csv_columns, key_columns, table_columns, counts)


def tags_cell(tags: Iterable[str]) -> str:
    """Mailchimp's Tags cell: comma-separated, a tag holding a comma in double quotes."""
    return ",".join('"' + t.replace('"', '""') + '"' if "," in t else t for t in tags)
