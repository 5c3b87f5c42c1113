/*
description: >
  For every model, channel_performance adds up to the facts: leads to the
  number of leads, SQLs, opportunities and won deals to the leads that
  reached them, revenue to the leads' revenue in the reporting currency to
  the cent, spend to the converted spend.
*/
with facts as (
  {{ macro "funnel_facts" (ref "fct_lead_revenue") }}
),

spend as (
  select coalesce(sum(cost_reporting), 0) as spend
  from {{ ref "stg_spend__daily" }}
),

models as (
  select
    model,
    {{ macro "funnel_sums" }},
    sum(spend) as spend
  from {{ ref "channel_performance" }}
  group by model
)

select m.*, f.leads as fact_leads, f.sqls as fact_sqls, f.opportunities as fact_opportunities, f.won as fact_won, f.revenue as fact_revenue, s.spend as fact_spend
from models as m
cross join facts as f
cross join spend as s
where {{ macro "funnel_differs" "m" "f" }}
  or abs(m.spend - s.spend) >= 0.005
