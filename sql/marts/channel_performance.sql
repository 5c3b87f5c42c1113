/*
description: >
  Channel performance by (month, channel, attribution model): spend, sessions
  and the funnel each model credits to the channel, with cost and return
  ratios. Every figure sits in the month its event happened: spend on its
  day, sessions on their start, leads on creation, MQLs, opportunities, SQLs
  and won deals on the day the lead reached the stage, revenue on the won
  day. Leads and MQLs use the stage-lead credits, SQLs the stage-sql
  credits, opportunities the stage-opportunity credits, won and revenue the
  stage-won credits, so across all months one model's leads sum to the number
  of leads and its revenue to the leads' revenue. Columns are documented in README.md.
  Rebuilt in full (a table): its funnel figures are lead credits, which a
  CRM change restates in any month; its only session-grain input is a count
  of sessions per month and channel, one scan of two columns of
  stg_ga4__sessions, a small part of a daily run.
materialized: table
cluster_by: [model, channel]
tests:
  not_null: [month, channel, model, spend, sessions, leads, spam_leads, mqls, sqls, opportunities, won, revenue, reporting_currency]
  unique_combination: [[month, channel, model]]
*/
with models as (
  {{ macro "attribution_models" }}
),

spend as (
  select
    {{ date_trunc "spend_date" "MONTH" }} as month,
    channel,
    sum(cost_reporting) as spend,
    sum(case when fx_missing then 1 else 0 end) as spend_rows_unconverted
  from {{ ref "stg_spend__daily" }}
  group by 1, 2
),

sessions as (
  select
    {{ date_trunc "session_date" "MONTH" }} as month,
    coalesce(channel, 'Unassigned') as channel,
    count(*) as sessions
  from {{ ref "stg_ga4__sessions" }}
  group by 1, 2
),

credits as (
  {{ macro "lead_credits" (ref "attribution_touchpoints") (ref "fct_lead_revenue") }}
),

events as (
  select model, channel, cast(stage_at as date) as day,
    credit as leads, case when is_spam then credit else 0 end as spam_leads,
    null as mqls, null as opportunities, null as sqls, null as won, null as revenue
  from credits where stage = 'lead'
  union all
  select model, channel, cast(mql_at as date), null, null, credit, null, null, null, null
  from credits where stage = 'lead' and mql_at is not null
  union all
  select model, channel, cast(stage_at as date), null, null, null, credit, null, null, null
  from credits where stage = 'opportunity'
  union all
  select model, channel, cast(stage_at as date), null, null, null, null, credit, null, null
  from credits where stage = 'sql'
  union all
  select model, channel, cast(stage_at as date), null, null, null, null, null, credit, revenue_credit
  from credits where stage = 'won'
),

funnel as (
  select
    {{ date_trunc "day" "MONTH" }} as month,
    channel,
    model,
    sum(leads) as leads,
    sum(spam_leads) as spam_leads,
    sum(mqls) as mqls,
    sum(opportunities) as opportunities,
    sum(sqls) as sqls,
    sum(won) as won,
    sum(revenue) as revenue
  from events
  group by 1, 2, 3
),

-- median days from lead to won of the won leads a model credits to the
-- channel in the won month; a portable median (row_number over the sorted
-- values, mean of the middle one or two)
won_days as (
  select
    {{ date_trunc "cast(stage_at as date)" "MONTH" }} as month,
    channel,
    model,
    days_to_won
  from credits
  where stage = 'won' and credit > 0 and days_to_won is not null
  group by 1, 2, 3, lead_id, days_to_won
),

won_days_ranked as (
  select
    *,
    row_number() over (partition by month, channel, model order by days_to_won) as rn,
    count(*) over (partition by month, channel, model) as n
  from won_days
),

median_days as (
  select month, channel, model, avg(days_to_won) as median_days_to_revenue
  from won_days_ranked
  where rn = floor((n + 1) / 2) or rn = floor((n + 2) / 2)
  group by 1, 2, 3
),

spine as (
  select month, channel, model from funnel
  union distinct
  select s.month, s.channel, m.model from spend as s cross join models as m
  union distinct
  select s.month, s.channel, m.model from sessions as s cross join models as m
),

joined as (
  select
    k.month,
    k.channel,
    k.model,
    coalesce(sp.spend, 0) as spend,
    coalesce(sp.spend_rows_unconverted, 0) as spend_rows_unconverted,
    coalesce(se.sessions, 0) as sessions,
    -- credited counts are fractional
    {{ safe_cast "coalesce(fu.leads, 0)" "FLOAT64" }} as leads,
    {{ safe_cast "coalesce(fu.spam_leads, 0)" "FLOAT64" }} as spam_leads,
    {{ safe_cast "coalesce(fu.mqls, 0)" "FLOAT64" }} as mqls,
    {{ safe_cast "coalesce(fu.sqls, 0)" "FLOAT64" }} as sqls,
    {{ safe_cast "coalesce(fu.opportunities, 0)" "FLOAT64" }} as opportunities,
    {{ safe_cast "coalesce(fu.won, 0)" "FLOAT64" }} as won,
    coalesce(fu.revenue, 0) as revenue,
    md.median_days_to_revenue
  from spine as k
  left join spend as sp on sp.month = k.month and sp.channel = k.channel
  left join sessions as se on se.month = k.month and se.channel = k.channel
  left join funnel as fu on fu.month = k.month and fu.channel = k.channel and fu.model = k.model
  left join median_days as md on md.month = k.month and md.channel = k.channel and md.model = k.model
)

select
  month,
  channel,
  model,
  spend,
  spend_rows_unconverted,
  sessions,
  leads,
  spam_leads,
  mqls,
  sqls,
  opportunities,
  won,
  revenue,
  {{ macro "performance_ratios" }},
  case when leads > 0 then spam_leads / leads end as spam_rate,
  median_days_to_revenue,
  {{ var "reporting_currency" }} as reporting_currency
from joined
