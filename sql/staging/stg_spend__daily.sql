/*
description: >
  Ad spend per (day, source, medium, campaign, currency) with its GA4 default
  channel group and the cost in the reporting currency. The rate is the
  nearest earlier rate of stg_fx__rates; a row without one keeps
  cost_reporting NULL and fx_missing = true, never zero, so missing rates
  show up instead of silently lowering spend.
materialized: table
tests:
  not_null: [spend_date, source, medium, channel, currency, cost, fx_missing]
  unique_combination: [[spend_date, source, medium, campaign, currency]]
*/
with spend as (
  select
    spend_date,
    lower(trim(source)) as source,
    lower(trim(medium)) as medium,
    nullif(trim(campaign), '') as campaign,
    upper(currency) as currency,
    sum(cost) as cost,
    count(*) as source_rows
  from {{ source "spend" "daily" }}
  group by 1, 2, 3, 4, 5
),

categorised as (
  select
    s.*,
    s.source as src,
    s.medium as med,
    lower(coalesce(s.campaign, '')) as camp,
    c.source_category as cat
  from spend as s
  left join {{ ref "seed_ga4_source_categories" }} as c
    on c.source = s.source
),

-- GA4's rules come from the channel_group macro (macros/channel_group.sql),
-- which stg_ga4__sessions calls too, so spend and sessions land in the same
-- channels.
grouped as (
  select
    *,
    -- channel rules: begin (the selected channel group, first match wins)
    {{ macro "channel_group" "src" "med" "camp" "cat" }} as channel
    -- channel rules: end
  from categorised
),

converted as (
  select
    g.*,
    case when g.currency = {{ var "reporting_currency" }} then 1.0 else fx.rate end as fx_rate
  from grouped as g
  left join {{ ref "stg_fx__rates" }} as fx
    on {{ macro "fx_rate_on" "fx" "g.currency" "g.spend_date" }}
)

select
  spend_date,
  source,
  medium,
  campaign,
  channel,
  currency,
  cost,
  source_rows,
  {{ var "reporting_currency" }} as reporting_currency,
  fx_rate,
  case
    when currency = {{ var "reporting_currency" }} then cost
    else {{ safe_cast "cost * fx_rate" "NUMERIC" }}
  end as cost_reporting,
  fx_rate is null as fx_missing
from converted
