{# Generic test on finance.marketplace_payouts: every settlement's payout is its sales − fees − refunds + other
   (what Amazon deposited is what it grouped). #}
{% test payout_adds_up(model) %}
select settlement_id, sales, fees, refunds, other, payout
from {{ model }}
where payout <> sales - fees - refunds + other
{% endtest %}

{# Generic test: a settlement's fees are the fee fact's Amazon postings of its period (posted in
   [settlement_start_at, settlement_end_at), same currency - one marketplace each) - every fee line
   fct_marketplace_fees holds, Sponsored Products included. #}
{% test payout_fees_match_fee_fact(model, fee_fact) %}
with posted as (
    select p.settlement_id, coalesce(sum(f.fee_amount), 0) as posted_fees
    from {{ model }} as p
    left join {{ fee_fact }} as f
        on f.channel = 'amazon'
        and f.currency = p.currency
        and f.posted_at >= p.settlement_start_at
        and f.posted_at < p.settlement_end_at
    group by p.settlement_id
)

select p.settlement_id, p.fees, posted.posted_fees
from {{ model }} as p
inner join posted on posted.settlement_id = p.settlement_id
where p.fees <> posted.posted_fees
{% endtest %}
