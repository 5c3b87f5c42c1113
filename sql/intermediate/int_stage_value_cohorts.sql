/*
description: >
  Won rate and average won revenue (reporting currency) per cohort, shrunk
  toward the level above when the cohort is thin, estimated from the mature,
  non-spam rows of int_lead_stage_outcomes. Fit 'all' uses all history
  (read by lead_value_predictions); one more fit per month of lead creation
  leaves that month out (fit = the month's first day, read by
  value_calibration). Cohorts: the stage overall, stage × channel, and
  stage × channel × campaign when the campaign cohort has at least
  prediction_prior_strength leads. With k = prediction_prior_strength:
  channel p = (won + k·p_overall)/(leads + k) and
  avg = (revenue + k·avg_overall)/(won_valued + k); a campaign shrinks the
  same way toward its channel's estimate. Cost: the training rows are read
  once per fit (months + 1 times), then aggregated; small next to the
  attribution marts.
materialized: table
tests:
  not_null: [fit, stage, cohort_grain, cohort_leads, cohort_won, cohort_won_valued, p_won]
  unique_combination: [[fit, stage, cohort_grain, channel, campaign]]
  accepted_values:
    stage: [lead, mql, sql]
    cohort_grain: [overall, channel, campaign]
*/
with training as (
  select *
  from {{ ref "int_lead_stage_outcomes" }}
  where is_mature and not is_spam
),

fits as (
  select 'all' as fit, cast(null as date) as held_out_month
  union all
  select distinct cast(lead_month as string), lead_month
  from training
),

fit_rows as (
  select
    f.fit,
    f.held_out_month,
    t.stage,
    t.channel,
    t.campaign,
    case when t.is_won then 1 else 0 end as won,
    -- a won deal without a reporting-currency amount (no FX rate) counts
    -- toward the won rate but not toward the average
    case when t.is_won and t.won_revenue is not null then 1 else 0 end as won_valued,
    case when t.is_won then cast(t.won_revenue as float64) end as revenue
  from fits as f
  cross join training as t
  where f.held_out_month is null or t.lead_month != f.held_out_month
),

overall as (
  select
    fit,
    held_out_month,
    stage,
    {{ macro "cohort_totals" }}
  from fit_rows
  group by fit, held_out_month, stage
),

overall_est as (
  select
    *,
    cast(won as float64) / leads as p_won,
    case when won_valued > 0 then revenue / won_valued end as avg_won_revenue
  from overall
),

by_channel as (
  select
    fit,
    stage,
    channel,
    {{ macro "cohort_totals" }}
  from fit_rows
  group by fit, stage, channel
),

channel_est as (
  select
    c.*,
    o.held_out_month,
    {{ macro "shrunk_estimate" "c" "o" }}
  from by_channel as c
  join overall_est as o on o.fit = c.fit and o.stage = c.stage
),

by_campaign as (
  select
    fit,
    stage,
    channel,
    campaign,
    {{ macro "cohort_totals" }}
  from fit_rows
  where campaign is not null
  group by fit, stage, channel, campaign
  having count(*) >= {{ var "prediction_prior_strength" }}
),

campaign_est as (
  select
    c.*,
    ch.held_out_month,
    {{ macro "shrunk_estimate" "c" "ch" }}
  from by_campaign as c
  join channel_est as ch on ch.fit = c.fit and ch.stage = c.stage and ch.channel = c.channel
),

unioned as (
  select fit, held_out_month, stage, 'overall' as cohort_grain, cast(null as string) as channel,
    cast(null as string) as campaign, leads, won, won_valued, revenue, p_won, avg_won_revenue
  from overall_est
  union all
  select fit, held_out_month, stage, 'channel', channel, cast(null as string),
    leads, won, won_valued, revenue, p_won, avg_won_revenue
  from channel_est
  union all
  select fit, held_out_month, stage, 'campaign', channel, campaign,
    leads, won, won_valued, revenue, p_won, avg_won_revenue
  from campaign_est
)

select
  fit,
  held_out_month,
  stage,
  cohort_grain,
  channel,
  campaign,
  cast(leads as int64) as cohort_leads,
  cast(won as int64) as cohort_won,
  cast(won_valued as int64) as cohort_won_valued,
  revenue as cohort_won_revenue,
  p_won,
  avg_won_revenue,
  {{ var "reporting_currency" }} as currency
from unioned
