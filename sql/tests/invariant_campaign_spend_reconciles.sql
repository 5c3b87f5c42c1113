/*
description: >
  For every model, campaign_performance holds every raw spend row
  (raw_spend__daily): as many rows, as many without an FX rate, and the
  converted cost to the cent (each raw row at the rate stg_spend__daily used
  for it). Spend whose campaign matches no session is counted, never dropped.
*/
with raw as (
  select
    spend_date,
    lower(trim(source)) as source,
    lower(trim(medium)) as medium,
    nullif(trim(campaign), '') as campaign,
    upper(currency) as currency,
    cost
  from {{ source "spend" "daily" }}
),

rates as (
  select distinct spend_date, source, medium, campaign, currency, fx_rate
  from {{ ref "stg_spend__daily" }}
),

expected as (
  select
    count(*) as spend_rows,
    sum(case when rt.fx_rate is null then 1 else 0 end) as spend_rows_unconverted,
    coalesce(sum(r.cost * rt.fx_rate), 0) as spend
  from raw as r
  left join rates as rt
    on rt.spend_date = r.spend_date and rt.source = r.source and rt.medium = r.medium
    and rt.currency = r.currency
    and (rt.campaign = r.campaign or (rt.campaign is null and r.campaign is null))
),

models as (
  {{ macro "attribution_models" }}
),

actual as (
  select
    m.model,
    coalesce(sum(c.spend_rows), 0) as spend_rows,
    coalesce(sum(c.spend_rows_unconverted), 0) as spend_rows_unconverted,
    coalesce(sum(c.spend), 0) as spend
  from models as m
  left join {{ ref "campaign_performance" }} as c on c.model = m.model
  group by m.model
)

select a.*, e.spend_rows as raw_rows, e.spend_rows_unconverted as raw_unconverted, e.spend as raw_spend
from actual as a
cross join expected as e
where a.spend_rows != e.spend_rows
  or a.spend_rows_unconverted != e.spend_rows_unconverted
  or abs(a.spend - e.spend) >= 0.005
