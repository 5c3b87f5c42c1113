/*
description: >
  For every model, campaign_performance adds up to the facts like
  channel_performance: leads to the number of leads, SQLs, opportunities and
  won deals to the leads that reached them, revenue to the leads' revenue in
  the reporting currency to the cent.
*/
with facts as (
  {{ macro "funnel_facts" (ref "fct_lead_revenue") }}
),

models as (
  select
    model,
    {{ macro "funnel_sums" }}
  from {{ ref "campaign_performance" }}
  group by model
)

select m.*, f.leads as fact_leads, f.sqls as fact_sqls, f.opportunities as fact_opportunities,
  f.won as fact_won, f.revenue as fact_revenue
from models as m
cross join facts as f
where {{ macro "funnel_differs" "m" "f" }}
