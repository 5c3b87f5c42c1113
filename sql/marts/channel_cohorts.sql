/*
description: >
  Lead cohorts: for the leads created in a month, the won deals and revenue
  each attribution model credits to a channel, by months from the lead's
  creation month to the won month (0 = won in the month the lead came in),
  with the running total, so BI can see how long a channel's leads take to
  pay back. cohort_leads is the channel's credited leads of that month.
  Columns are documented in README.md.
materialized: view
tests:
  not_null: [lead_month, channel, model, months_to_revenue, won, revenue, cumulative_revenue, cohort_leads]
  unique_combination: [[lead_month, channel, model, months_to_revenue]]
*/
with credits as (
  {{ macro "lead_credits" (ref "attribution_touchpoints") (ref "fct_lead_revenue") }}
),

touches as (
  select
    model,
    channel,
    stage,
    credit,
    revenue_credit,
    {{ date_trunc "cast(created_at as date)" "MONTH" }} as lead_month,
    cast(won_at as date) as won_date
  from credits
  where stage in ('lead', 'won')
),

cohort_size as (
  select lead_month, channel, model, sum(credit) as cohort_leads
  from touches
  where stage = 'lead'
  group by 1, 2, 3
),

won as (
  select
    lead_month,
    channel,
    model,
    (extract(year from won_date) * 12 + extract(month from won_date))
      - (extract(year from lead_month) * 12 + extract(month from lead_month)) as months_to_revenue,
    sum(credit) as won,
    sum(revenue_credit) as revenue
  from touches
  where stage = 'won'
  group by 1, 2, 3, 4
)

select
  w.lead_month,
  w.channel,
  w.model,
  w.months_to_revenue,
  {{ safe_cast "c.cohort_leads" "FLOAT64" }} as cohort_leads,
  {{ safe_cast "w.won" "FLOAT64" }} as won,
  w.revenue,
  sum(w.revenue) over (
    partition by w.lead_month, w.channel, w.model
    order by w.months_to_revenue
    rows between unbounded preceding and current row
  ) as cumulative_revenue,
  {{ var "reporting_currency" }} as reporting_currency
from won as w
join cohort_size as c
  on c.lead_month = w.lead_month and c.channel = w.channel and c.model = w.model
