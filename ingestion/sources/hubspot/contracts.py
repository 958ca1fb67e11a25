"""What HubSpot records must satisfy before they enter ``raw_crm`` (else: quarantine)."""

from __future__ import annotations

from ingestion.contracts import Contract, amount_present, currency_known


def deals_contract() -> Contract:
    return Contract(
        "hubspot",
        "deals",
        "id",
        checks=(
            currency_known("properties.deal_currency_code"),
            amount_present("properties.amount"),  # every deal of this business is priced; a booking needs it
        ),
    )


def goal_targets_contract() -> Contract:
    return Contract(
        "hubspot",
        "goal_targets",
        "id",
        checks=(
            amount_present("properties.hs_target_amount"),  # a quota without an amount cannot be attained
        ),
    )
