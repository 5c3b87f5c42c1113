/*
description: >
  Back-test of lead_value_predictions, one row per (month of lead creation,
  stage, channel): the mature, non-spam leads of the month at the stage, the
  value predicted for them by a fit that left their month out
  (leave-one-month-out, int_stage_value_cohorts), and the won revenue they
  actually brought. ratio = predicted_value_sum / realised_won_revenue: 1 is
  calibrated, above 1 over-predicts. A month is back-tested only when some
  other month has mature history. Cost: the cohorts are fitted once per
  month (see int_stage_value_cohorts); this model then reads each mature lead
  stage once. Columns are documented in README.md.
  Rebuilt in full (a table): a few hundred cohort rows from lead-grain
  inputs; it reads no GA4 table.
materialized: table
cluster_by: [stage, channel]
tests:
  not_null: [lead_month, stage, channel, leads, predicted_won, realised_won, realised_won_revenue, currency]
  unique_combination: [[lead_month, stage, channel]]
  accepted_values: {stage: [lead, mql, sql]}
*/
with held_out as (
  select *
  from {{ ref "int_lead_stage_outcomes" }}
  where is_mature and not is_spam
),

cohorts as (
  select * from {{ ref "int_stage_value_cohorts" }}
  where fit != 'all'
),

predicted as (
  select
    h.lead_month,
    h.stage,
    h.channel,
    h.is_won,
    h.won_revenue,
    coalesce(cp.p_won, ch.p_won, ov.p_won) as p_won,
    case
      when cp.fit is not null then cp.avg_won_revenue
      when ch.fit is not null then ch.avg_won_revenue
      else ov.avg_won_revenue
    end as avg_won_revenue
  from held_out as h
  join cohorts as ov
    on ov.held_out_month = h.lead_month and ov.cohort_grain = 'overall' and ov.stage = h.stage
  left join cohorts as ch
    on ch.held_out_month = h.lead_month and ch.cohort_grain = 'channel' and ch.stage = h.stage
    and ch.channel = h.channel
  left join cohorts as cp
    on cp.held_out_month = h.lead_month and cp.cohort_grain = 'campaign' and cp.stage = h.stage
    and cp.channel = h.channel and cp.campaign = h.campaign
),

summed as (
  select
    lead_month,
    stage,
    channel,
    count(*) as leads,
    sum(p_won) as predicted_won,
    sum(case when is_won then 1 else 0 end) as realised_won,
    sum(case when p_won = 0 then 0 else p_won * avg_won_revenue end) as predicted_value_sum,
    sum(case when is_won then won_revenue end) as realised_won_revenue
  from predicted
  group by lead_month, stage, channel
)

select
  lead_month,
  stage,
  channel,
  leads,
  predicted_won,
  cast(realised_won as int64) as realised_won,
  {{ safe_cast "predicted_value_sum" "NUMERIC" }} as predicted_value_sum,
  coalesce(realised_won_revenue, {{ safe_cast "0" "NUMERIC" }}) as realised_won_revenue,
  case
    when realised_won_revenue > 0 then predicted_value_sum / cast(realised_won_revenue as float64)
  end as ratio,
  {{ var "reporting_currency" }} as currency
from summed
