"""The shared vocabulary of the CRM tables: table names, columns, activity types, outcomes and codes.

Every module that names a table, a column or a code imports it from here, so that the contract,
the generator, the features and the guardrail cannot drift apart.
"""

TABLES = ("accounts", "leads", "activities", "deals")

# The model's own columns of win rates by category (models/target_stats.py): "win_rate__industry". No feature of
# an export may bear a name of this form (features/flat.py): LightGBM refused two columns of one name.
WIN_RATE_PREFIX = "win_rate__"

ACCOUNT_COLUMNS = (
    "account_id",  # str, unique
    "name",  # str
    "domain",  # str, e.g. "acme.com"
    "industry",  # str, e.g. "software"
    "employee_count",  # int >= 1
    "annual_revenue",  # float >= 0, in USD
    "country",  # ISO 3166 alpha-2, e.g. "US"
    "tech_stack",  # str, ";"-separated tools (or ",", "|", a line break), e.g. "salesforce;snowflake"; may be empty
    "created_at",  # datetime (naive, UTC) or missing: when the account record was created in the CRM
)
# Columns a table may have; when present the contract checks them, when absent the feature is missing.
OPTIONAL_COLUMNS = {
    "accounts": ("founded_year",),  # int or missing: the year the company was founded (company_age_years)
}
LEAD_COLUMNS = (
    "lead_id",  # str, unique
    "account_id",  # str, references accounts.account_id
    "email",  # str
    "job_title",  # str, messy free text ("VP Sales", "vp of sales", "student")
    "lead_source",  # str, one of LEAD_SOURCES (other values allowed, mapped to "other")
    "created_at",  # datetime (naive, UTC)
)
ACTIVITY_COLUMNS = (
    "lead_id",  # str, references leads.lead_id
    "occurred_at",  # datetime (naive, UTC)
    "activity_type",  # str, one of ACTIVITY_TYPES
)
DEAL_COLUMNS = (
    "deal_id",  # str, unique
    "lead_id",  # str, references leads.lead_id
    "account_id",  # str, references accounts.account_id
    "created_at",  # datetime (naive, UTC): the snapshot time for training
    "closed_at",  # datetime or missing (open deals)
    "outcome",  # one of OUTCOMES
    "amount",  # float >= 0
    "lost_reason",  # one of LOST_REASONS when outcome == "lost", else missing
)
TABLE_COLUMNS = {
    "accounts": ACCOUNT_COLUMNS,
    "leads": LEAD_COLUMNS,
    "activities": ACTIVITY_COLUMNS,
    "deals": DEAL_COLUMNS,
}


def contract_columns(table: str) -> set[str]:
    """The columns the contract reads in `table`, required and optional."""
    return set(TABLE_COLUMNS.get(table, ())) | set(OPTIONAL_COLUMNS.get(table, ()))


TABLE_KEYS = {"accounts": "account_id", "leads": "lead_id", "activities": None, "deals": "deal_id"}

ACTIVITY_TYPES = (
    "pricing_page",
    "demo_request",
    "case_study",
    "webinar",
    "blog",
    "email_open",
    "email_click",
    "careers_page",
    "unsubscribe",
)
# Other words CRMs and marketing tools write for the activity types (read after case, blanks and hyphens, as
# features.text.spelled_word reads them): a lead's "Unsubscribed" or "Opt-Out" row was quarantined as no known
# type, and the lead who opted out was scored as if they had not (graded A, on the call list).
ACTIVITY_OTHER_SPELLINGS = {
    **dict.fromkeys(
        (
            "unsubscribed",
            "unsubscribes",
            "opt_out",
            "opted_out",
            "optout",
            "opt_outs",
            "email_unsubscribe",
            "email_unsubscribed",
            "email_opt_out",
            "unsubscribed_from_email",
        ),
        "unsubscribe",
    ),
    **dict.fromkeys(("email_opened", "email_opens", "opened_email", "marketing_email_opened"), "email_open"),
    **dict.fromkeys(("email_clicked", "email_clicks", "clicked_email", "email_link_clicked"), "email_click"),
    **dict.fromkeys(
        ("demo_requested", "demo_requests", "requested_demo", "requested_a_demo"), "demo_request"
    ),
    **dict.fromkeys(
        (
            "pricing_page_view",
            "pricing_page_views",
            "pricing_page_visit",
            "pricing_page_visits",
            "pricing_pages",
        ),
        "pricing_page",
    ),
    **dict.fromkeys(("case_studies", "case_study_view", "case_study_download"), "case_study"),
    **dict.fromkeys(("webinars", "webinar_attended", "attended_webinar"), "webinar"),
    **dict.fromkeys(("blogs", "blog_post", "blog_posts", "blog_view"), "blog"),
    **dict.fromkeys(("careers_pages", "career_page", "careers_page_view"), "careers_page"),
}
HIGH_INTENT_ACTIVITIES = ("pricing_page", "demo_request")

OUTCOMES = ("won", "lost", "open")
LOST_REASONS = ("bad_fit", "no_budget", "competitor", "timing", "unresponsive", "duplicate")

LEAD_SOURCES = (
    "organic_search",
    "paid_search",
    "referral",
    "event",
    "outbound",
    "partner",
    "content",
    "other",
)

# Disqualification reason codes of the ICP guardrail: a fixed list.
DISQUALIFY_REASONS = (
    "competitor",
    "wrong_persona",
    "free_email",
    "outside_geography",
    "bad_fit",
    "duplicate",
    "unsubscribed",
)
