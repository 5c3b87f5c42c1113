/*
description: >
  For every model, campaign_performance adds up to the facts like
  channel_performance: leads to the number of leads, SQLs, opportunities and
  won deals to the leads that reached them, revenue to the leads' revenue in
  the reporting currency to the cent.
*/
with facts as (
  select
    count(*) as leads,
    sum(case when coalesce(sql_at, opportunity_at, won_at) is not null then 1 else 0 end) as sqls,
    sum(case when coalesce(opportunity_at, won_at) is not null then 1 else 0 end) as opportunities,
    sum(case when won_at is not null then 1 else 0 end) as won,
    coalesce(sum(revenue_reporting), 0) as revenue
  from {{ ref "fct_lead_revenue" }}
),

models as (
  select
    model,
    sum(leads) as leads,
    sum(sqls) as sqls,
    sum(opportunities) as opportunities,
    sum(won) as won,
    sum(revenue) as revenue
  from {{ ref "campaign_performance" }}
  group by model
)

select m.*, f.leads as fact_leads, f.sqls as fact_sqls, f.opportunities as fact_opportunities,
  f.won as fact_won, f.revenue as fact_revenue
from models as m
cross join facts as f
where abs(m.leads - f.leads) > 1e-6
  or abs(m.sqls - f.sqls) > 1e-6
  or abs(m.opportunities - f.opportunities) > 1e-6
  or abs(m.won - f.won) > 1e-6
  or abs(m.revenue - f.revenue) >= 0.005
