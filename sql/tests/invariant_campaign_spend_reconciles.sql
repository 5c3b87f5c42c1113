/*
description: >
  For every model, campaign_performance holds every raw spend row
  (raw_spend__daily) and its cost to the cent: staging keeps each
  currency's raw cost and row count, and campaign_performance holds as many
  rows, as many without an FX rate and the converted cost of staging. Spend
  whose campaign matches no session is counted, never dropped.
*/
with raw as (
  select upper(currency) as currency, count(*) as spend_rows, sum(cost) as cost
  from {{ source "spend" "daily" }}
  group by 1
),

staged as (
  select currency, sum(source_rows) as spend_rows, sum(cost) as cost
  from {{ ref "stg_spend__daily" }}
  group by 1
),

converted as (
  select
    coalesce(sum(source_rows), 0) as spend_rows,
    coalesce(sum(case when fx_missing then source_rows else 0 end), 0) as spend_rows_unconverted,
    coalesce(sum(cost_reporting), 0) as spend
  from {{ ref "stg_spend__daily" }}
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

select 'staging lost raw spend' as problem, r.currency as item, r.cost as expected, s.cost as got
from raw as r
left join staged as s on s.currency = r.currency
where s.currency is null or s.spend_rows != r.spend_rows or abs(s.cost - r.cost) >= 0.005
union all
select 'campaign_performance differs from staging', a.model, v.spend, a.spend
from actual as a
cross join converted as v
where a.spend_rows != v.spend_rows
  or a.spend_rows_unconverted != v.spend_rows_unconverted
  or abs(a.spend - v.spend) >= 0.005
