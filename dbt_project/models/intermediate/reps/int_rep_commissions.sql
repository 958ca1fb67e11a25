-- Rep × month: quota, bookings, attainment and commission under the marginal tiers of seeds/commission_plan:
-- Σ over tiers rate × max(0, min(bookings, to × quota) − from × quota); an open-ended tier has no cap.
-- A zero (or missing) quota puts every booked dollar above 100% of quota: the top tier's rate.
with quota as (
    select rep_id, month_start, quota_usd from {{ ref('int_rep_quota') }}
),

bookings as (
    select rep_id, month_start, bookings_usd from {{ ref('int_rep_closed_deals_monthly') }}
),

rep_months as (
    select
        coalesce(q.rep_id, b.rep_id) as rep_id,
        coalesce(q.month_start, b.month_start) as month_start,
        cast(coalesce(q.quota_usd, 0) as decimal(18, 2)) as quota_usd,
        cast(coalesce(b.bookings_usd, 0) as decimal(18, 2)) as bookings_usd
    from quota as q
    full outer join bookings as b
        on b.rep_id = q.rep_id
        and b.month_start = q.month_start
),

tiered as (
    select
        r.rep_id,
        r.month_start,
        p.rate * greatest(
            0,
            least(r.bookings_usd, coalesce(p.to_attainment * r.quota_usd, r.bookings_usd))
            - p.from_attainment * r.quota_usd
        ) as tier_commission
    from rep_months as r
    cross join {{ ref('commission_plan') }} as p
),

commission as (
    select rep_id, month_start, sum(tier_commission) as commission_usd
    from tiered
    group by rep_id, month_start
)

select
    r.rep_id,
    r.month_start,
    r.quota_usd,
    r.bookings_usd,
    cast(case when r.quota_usd > 0 then {{ ratio_exact('r.bookings_usd', 'r.quota_usd', 4) }} end as decimal(18, 4))
        as attainment_pct,
    cast(round(coalesce(c.commission_usd, 0), 2) as decimal(18, 2)) as commission_usd
from rep_months as r
left join commission as c
    on c.rep_id = r.rep_id
    and c.month_start = r.month_start
