{# Whether a posting (a refund or a marketplace fee) counts toward sales, from its order's row in int_orders
   (joined as `order_alias`): as its order does, and yes when the warehouse does not hold the order (an Amazon
   financial event of an order the Orders API has not delivered, or that ingestion quarantined). Only postings of
   test or cancelled orders are left out. #}
{% macro posting_counts_as_sale(order_alias) -%}
    coalesce({{ order_alias }}.counts_as_sale, true)
{%- endmacro %}

{# Whether a fee line counts as a marketplace fee (docs/architecture.md: Amazon fees and settlements): every fee
   Amazon or eBay charges does - selling, fulfilment, storage, subscription, liquidation fees - except Sponsored
   Products invoices (Amazon's ProductAdsPayment): that is advertising spend, already counted by the Amazon Ads
   source; counting it here too would count it twice. Mirrored in sandbox/truth.py (NOT_MARKETPLACE_FEES). #}
{% macro counts_as_marketplace_fee(fee_type) -%}
    coalesce({{ fee_type }} not in ('ProductAdsPayment'), true)
{%- endmacro %}
