"""Settings for identity resolution: one object, `IdentityConfig`, with the matcher's
settings nested inside it as `IdentityConfig.matching` (a `MatchConfig`).

Every threshold that decides whether two records become one customer lives here, so a data
steward can tighten or relax the pipeline without touching SQL. `MatchConfig` alone is what
the bring-your-own-data resolver takes (`resolve_dataframe`, `customer360 identity
resolve`): it holds everything that applies to any person records (identifier rules,
blocking, scoring thresholds); `IdentityConfig` adds what only the warehouse pipeline knows
about (web accounts, loyalty cards, browsers, cluster limits).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from python_models.identity.normalise import (
    GENERIC_EMAIL_DOMAINS,
    GENERIC_EMAIL_LOCAL_PARTS,
    GENERIC_PHONES,
)

# Consumer mail providers, by the first label of the domain (`hotmail` covers hotmail.co.uk,
# hotmail.fr ...). A mailbox there is one person's; two different ones under one name and
# address are two people (a parent and child of the same name), not one person's two inboxes
# (which are mostly a personal and a work address).
DEFAULT_PERSONAL_EMAIL_PROVIDERS: tuple[str, ...] = (
    "gmail", "googlemail", "hotmail", "outlook", "live", "msn", "windowslive", "yahoo", "ymail",
    "rocketmail", "aol", "icloud", "me", "mac", "proton", "protonmail", "pm", "zoho", "gmx",
    "mail", "yandex", "btinternet", "btopenworld", "sky", "virginmedia", "ntlworld",
    "blueyonder", "talktalk", "tiscali", "orange", "wanadoo", "free", "laposte", "sfr",
    "neuf", "bbox", "t-online", "web", "freenet", "arcor", "posteo", "ziggo", "kpnmail",
    "planet", "home", "hetnet", "xs4all", "telenet", "skynet", "eircom", "libero",
    "virgilio", "alice", "tin", "bluewin", "seznam", "wp", "o2", "interia", "onet",
    "comcast", "verizon", "att", "sbcglobal", "bellsouth", "cox", "charter", "earthlink",
    "shaw", "rogers", "sympatico", "bigpond", "optusnet", "qq", "163", "126", "naver",
)  # fmt: skip


class MatchConfig(BaseModel):
    """Identifier rules, blocking, scoring and decision thresholds of the matcher.

    Probabilities are posterior match probabilities of a candidate pair. Pairs at or above
    `auto_link_probability` are linked automatically; pairs between `review_probability` and
    that are queued for review; lower pairs are not returned. Defaults are chosen to work
    without per-dataset tuning; they are the values the FEBRL and synthetic benchmarks run
    with.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    auto_link_probability: float = Field(
        0.95, gt=0, lt=1, description="A pair at or above this probability links on its own."
    )
    review_probability: float = Field(
        0.8,
        gt=0,
        lt=1,
        description="Below this a pair is not returned: on the sample, fuzzy pairs between "
        "0.5 and 0.8 were all non-matches, and a review queue of them only hides the pairs "
        "worth a look.",
    )
    max_block_size: int = Field(
        50,
        ge=2,
        description="A block (records sharing one blocking key) larger than this is skipped "
        "for that rule, so candidate pairs grow linearly with records, not quadratically.",
    )
    max_name_block_size: int = Field(
        10,
        ge=2,
        description="Cap for the names-only blocking rule, whose blocks are large for common "
        "names; the duplicates of a 'John Smith' must then share some other key.",
    )
    shared_identifier_max_names: int = Field(
        3,
        ge=1,
        description="An identifier value (email, phone, other id) held by more than this "
        "many distinct names is shared/generic: it is never evidence on its own.",
    )
    u_sample_pairs: int = Field(
        200_000, ge=1, description="Random record pairs drawn to estimate u-probabilities."
    )
    known_pair_sample: int = Field(
        500_000,
        ge=1,
        description="Pairs inside known groups (the pipeline's deterministic clusters) are "
        "learnt from but not scored. When the groups hold more pairs than this, blocking "
        "keeps a fixed hash sample of about this many, each counted for the ones it stands "
        "for (1M customers: 5.15M such pairs, a third of all candidates).",
    )
    u_prior_pairs: float = Field(
        2_000.0,
        ge=0,
        description="Pseudo-counts that shrink u-probabilities towards generic values, so a "
        "tiny input does not take '2 of 6 records are called Anna' as the truth about names.",
    )
    tf_prior_records: float = Field(
        100.0, ge=0, description="Pseudo-records shrinking value frequencies (TF adjustment)."
    )
    em_max_iterations: int = Field(50, ge=1)
    em_tolerance: float = Field(1e-6, gt=0)
    tf_max_boost_bits: float = Field(
        3.0,
        ge=0,
        description="A rare exact value may raise a field's weight by at most this many bits "
        "above its average exact-match weight; common values lower it without limit.",
    )
    strip_plus_tags: bool = Field(
        True, description="Treat `anna+shop@x.com` as `anna@x.com` (plus-addressing)."
    )
    gmail_dot_rule: bool = Field(
        True,
        description="Ignore dots in the local part of Gmail addresses (a.nna = anna) and read "
        "googlemail.com as gmail.com.",
    )
    generic_email_local_parts: tuple[str, ...] = Field(
        GENERIC_EMAIL_LOCAL_PARTS,
        description="Mailboxes of a role, not a person (info@, noreply@ ...): never evidence.",
    )
    generic_email_domains: tuple[str, ...] = Field(
        GENERIC_EMAIL_DOMAINS, description="Placeholder domains: an address there is no evidence."
    )
    generic_phones: tuple[str, ...] = Field(
        GENERIC_PHONES, description="Placeholder numbers (E.164): never evidence."
    )
    default_country_code: str | None = Field(
        None,
        description="Calling code used to turn national phone numbers (leading 0) into E.164 "
        "when the record's country is unknown; None keeps them as national digits.",
    )
    day_first_dates: bool = Field(
        True, description="Read slash dates as day-first (DD/MM/YYYY), not month-first."
    )
    link_type: Literal["dedupe", "link_only"] = Field(
        "dedupe",
        description="'dedupe' links any two records; 'link_only' joins records of different "
        "sources only (needs a `source` role): records of one source are never compared.",
    )
    household_guard: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Household guard: a pair must have agreeing personal evidence (given "
        "name, birth date, email, personal id) to auto-link, and is dropped when that "
        "evidence disagrees. 'auto' turns it on only where the data shows households "
        "(see `household_ratio`).",
    )
    household_ratio: float = Field(
        3.0,
        gt=0,
        description="'auto' guard: households are present when given names differ at one "
        "address under one surname more than this many times as often as surnames differ "
        "at one address under one given name (typos hit both alike).",
    )
    household_min_pairs: int = Field(
        20,
        ge=0,
        description="'auto' guard: with fewer same-address pairs than this the data cannot "
        "tell, and the guard stays on.",
    )
    random_seed: int = 42

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> MatchConfig:
        if not self.review_probability <= self.auto_link_probability:
            raise ValueError(
                "need review_probability <= auto_link_probability, got "
                f"{self.review_probability} and {self.auto_link_probability}"
            )
        return self


class IdentityConfig(BaseModel):
    """How the warehouse's records are linked and when a link is not trusted on its own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    matching: MatchConfig = Field(
        default_factory=MatchConfig,
        description="The matcher's settings (identifier rules, blocking, thresholds).",
    )

    personal_email_providers: tuple[str, ...] = Field(
        DEFAULT_PERSONAL_EMAIL_PROVIDERS,
        description="Consumer mail providers (first label of the domain): used by the "
        "personal_email_conflict veto and the personal_emails_disjoint cluster conflict.",
    )

    shared_name_similarity: float = Field(
        0.80,
        ge=0,
        le=1,
        description="Two given names below this Jaro-Winkler similarity are different people.",
    )
    email_conflict_needs_birth_dates: bool = Field(
        True,
        description="An email counts as shared only when its records disagree on given name "
        "AND on a known birth date (names alone vary too much: nicknames, typos).",
    )
    shared_value_max_variants: int = Field(
        20,
        ge=2,
        description="An email/phone seen with more distinct name/birth-date variants is shared "
        "without further comparison (bounds the pairwise check).",
    )

    max_cluster_records: int = Field(
        500, ge=2, description="A cluster larger than this goes to review instead of merging."
    )
    max_cluster_names: int = Field(
        3,
        ge=1,
        description="A cluster with more distinct people-ish given names goes to review.",
    )
    people_name_similarity: float = Field(
        0.85,
        ge=0,
        le=1,
        description="Given names at least this similar count as one person's name (typos).",
    )

    use_fuzzy_links: bool = Field(True, description="Score PII records with the fuzzy matcher.")
    cluster_conflicts: tuple[str, ...] = Field(
        (
            "two_web_accounts",
            "two_loyalty_members",
            "birth_dates_disjoint",
            "contacts_disjoint",
            "personal_emails_disjoint",
        ),
        description="A fuzzy link joining two deterministic clusters is demoted to review when "
        "the clusters conflict: each has its own web account / loyalty membership, their known "
        "birth dates share none, their emails share none and their phones share none, or "
        "each has a consumer-provider mailbox and they share none.",
    )
    identifier_link_conflicts: tuple[str, ...] = Field(
        ("two_web_accounts", "two_loyalty_members", "birth_dates_disjoint"),
        description="An email/phone carried by two clusters of source-id links (crm, "
        "loyalty, web account, single-user device) that conflict (same "
        "names as `cluster_conflicts`) is shared: two people of one name using one address "
        "or number. It links nothing on its own and the matcher does not see it.",
    )
    browser_conflicts: tuple[str, ...] = Field(
        (
            "two_web_accounts",
            "two_loyalty_members",
            "birth_dates_disjoint",
            "personal_emails_disjoint",
        ),
        description="A browser whose records (the account it logged in as, the orders "
        "placed from it) fall into two deterministic clusters that conflict (same names as "
        "`cluster_conflicts`, clusters built without browser links) joins no one: a "
        "household member's login on the head's laptop plus the head's guest checkout. "
        "Empty switches the check off.",
    )
    fuzzy_vetoes: tuple[str, ...] = Field(
        ("birth_date_conflict", "family_name_conflict", "personal_email_conflict"),
        description="Contradictions that demote a fuzzy auto-link to review: "
        "birth_date_conflict (both known, differ beyond a typo or day/month swap), "
        "family_name_conflict (both known, dissimilar, not swapped with the given name), "
        "personal_email_conflict (both have a consumer-provider mailbox, differing by more "
        "than one typo), "
        "contact_conflict (both emails and both phones known and all different).",
    )
