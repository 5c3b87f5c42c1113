/*
description: >
  Campaign performance by (month, channel, campaign, attribution model): the
  channel_performance measures at campaign grain. Spend joins sessions and
  credited touches on the campaign name normalised alike on both sides
  (macro campaign_key); spend rows without a campaign, and touches without
  one, sit in the channel's row with a NULL campaign (the channel fallback).
  Spend is never dropped: a spend row whose campaign no session of its
  channel carries in the month keeps its row and is counted in
  spend_rows_unmatched. Columns are documented in README.md.
  Rebuilt in full (a table): its funnel figures are lead credits, which a
  CRM change restates in any month; its only session-grain input is a count
  of sessions per month and campaign, one scan of a few columns of
  stg_ga4__sessions, a small part of a daily run.
materialized: table
cluster_by: [model, channel, campaign]
tests:
  not_null: [month, channel, model, spend, spend_rows, spend_rows_unmatched, sessions, leads, sqls, opportunities, won, revenue, reporting_currency]
  unique_combination: [[month, channel, campaign, model]]
*/
with models as (
  {{ macro "attribution_models" }}
),

sessions as (
  select
    {{ macro "campaign_grain" "session_date" "coalesce(channel, 'Unassigned')" }},
    count(*) as sessions
  from {{ ref "stg_ga4__sessions" }}
  group by 1, 2, 3
),

spend_rows as (
  select
    {{ macro "campaign_grain" "spend_date" "channel" }},
    cost_reporting,
    fx_missing,
    source_rows
  from {{ ref "stg_spend__daily" }}
),

spend as (
  select
    sp.month,
    sp.channel,
    sp.campaign,
    sum(sp.cost_reporting) as spend,
    sum(sp.source_rows) as spend_rows,
    sum(case when sp.fx_missing then sp.source_rows else 0 end) as spend_rows_unconverted,
    -- a named campaign no session of the channel carries in the month
    sum(case when sp.campaign is not null and se.campaign is null then sp.source_rows else 0 end) as spend_rows_unmatched
  from spend_rows as sp
  left join sessions as se
    on se.month = sp.month and se.channel = sp.channel and se.campaign = sp.campaign
  group by 1, 2, 3
),

credits as (
  {{ macro "lead_credits" (ref "attribution_touchpoints") (ref "fct_lead_revenue") }}
),

events as (
  select model, channel, campaign, cast(stage_at as date) as day,
    credit as leads, null as sqls, null as opportunities, null as won, null as revenue
  from credits where stage = 'lead'
  union all
  select model, channel, campaign, cast(stage_at as date), null, credit, null, null, null
  from credits where stage = 'sql'
  union all
  select model, channel, campaign, cast(stage_at as date), null, null, credit, null, null
  from credits where stage = 'opportunity'
  union all
  select model, channel, campaign, cast(stage_at as date), null, null, null, credit, revenue_credit
  from credits where stage = 'won'
),

funnel as (
  select
    {{ macro "campaign_grain" "day" "channel" }},
    model,
    {{ macro "funnel_sums" }}
  from events
  group by 1, 2, 3, 4
),

spine as (
  select month, channel, campaign, model from funnel
  union distinct
  select s.month, s.channel, s.campaign, m.model from spend as s cross join models as m
  union distinct
  select s.month, s.channel, s.campaign, m.model from sessions as s cross join models as m
),

-- NULL campaigns (the channel fallback) join each other
joined as (
  select
    k.*,
    coalesce(sp.spend, 0) as spend,
    coalesce(sp.spend_rows, 0) as spend_rows,
    coalesce(sp.spend_rows_unconverted, 0) as spend_rows_unconverted,
    coalesce(sp.spend_rows_unmatched, 0) as spend_rows_unmatched,
    coalesce(se.sessions, 0) as sessions,
    -- credits are FLOAT64 already, so the sums are too
    coalesce(fu.leads, 0) as leads,
    coalesce(fu.sqls, 0) as sqls,
    coalesce(fu.opportunities, 0) as opportunities,
    coalesce(fu.won, 0) as won,
    coalesce(fu.revenue, 0) as revenue
  from spine as k
  left join spend as sp
    on sp.month = k.month and sp.channel = k.channel and coalesce(sp.campaign, '') = coalesce(k.campaign, '')
  left join sessions as se
    on se.month = k.month and se.channel = k.channel and coalesce(se.campaign, '') = coalesce(k.campaign, '')
  left join funnel as fu
    on fu.month = k.month and fu.channel = k.channel and coalesce(fu.campaign, '') = coalesce(k.campaign, '')
    and fu.model = k.model
)

select
  month,
  channel,
  campaign,
  model,
  spend,
  spend_rows,
  spend_rows_unconverted,
  spend_rows_unmatched,
  sessions,
  leads,
  sqls,
  opportunities,
  won,
  revenue,
  {{ macro "performance_ratios" }},
  case when opportunities > 0 then {{ safe_cast "spend" "FLOAT64" }} / opportunities end as cost_per_opportunity,
  {{ var "reporting_currency" }} as reporting_currency
from joined
