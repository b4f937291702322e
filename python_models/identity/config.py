"""Settings for identity resolution: normalisation rules, over-merge guards, cluster limits.

Every threshold that decides whether two records become one customer lives here, so a data
steward can tighten or relax the pipeline without touching SQL.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

DEFAULT_GENERIC_EMAIL_LOCAL_PARTS: tuple[str, ...] = (
    "info",
    "test",
    "testing",
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
    "admin",
    "administrator",
    "sales",
    "support",
    "contact",
    "hello",
    "office",
    "mail",
    "email",
    "team",
    "billing",
    "accounts",
    "enquiries",
    "inquiries",
    "webmaster",
    "postmaster",
    "none",
    "null",
    "na",
    "unknown",
    "customer",
    "orders",
)
DEFAULT_GENERIC_EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "test.com")
DEFAULT_GMAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "googlemail.com")
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


class IdentityConfig(BaseModel):
    """How records are linked and when a link is not trusted on its own."""

    strip_plus_tags: bool = Field(
        True, description="Treat `anna+shop@x.com` as `anna@x.com` (plus-addressing)."
    )
    gmail_dot_rule: bool = Field(
        True, description="Ignore dots in the local part of Gmail addresses (a.nna = anna)."
    )
    gmail_domains: tuple[str, ...] = DEFAULT_GMAIL_DOMAINS
    generic_email_local_parts: tuple[str, ...] = DEFAULT_GENERIC_EMAIL_LOCAL_PARTS
    generic_email_domains: tuple[str, ...] = DEFAULT_GENERIC_EMAIL_DOMAINS
    generic_phones: tuple[str, ...] = ("+10000000000", "+440000000000", "+441234567890")
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
