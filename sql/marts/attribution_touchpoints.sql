/*
description: >
  One row per (lead, touchpoint, model, stage): which share of the lead (stage
  lead), of its SQL (stage sql) and of its won revenue (stage won) each web
  touchpoint earns under seven attribution models. A lead has rows at a stage
  only once it reached it. Credits of one lead sum to 1 per model and stage;
  a lead without web touchpoints has one Unattributed touch with credit 1.
  Columns are documented in README.md.
materialized: table
cluster_by: [model, stage, channel]
tests:
  not_null: [lead_id, stage, model, position, touch_count, channel, credit, revenue_credit, stage_at]
  unique_combination: [[lead_id, stage, model, position]]
  accepted_values:
    stage: [lead, sql, won]
    model: [first_touch, last_touch, last_non_direct, linear, time_decay, position_based, markov]
*/
with leads as (
  select
    {{ macro "lead_stage_times" }},
    coalesce(revenue_reporting, 0) as revenue_reporting,
    reporting_currency
  from {{ ref "fct_lead_revenue" }}
),

stages as (
  select 'lead' as stage union all select 'sql' union all select 'won'
),

lead_stages as (
  select
    l.*,
    st.stage,
    {{ macro "lead_stage_at" "l" "st.stage" }} as stage_at
  from leads as l
  cross join stages as st
),

touches as (
  select
    lead_id,
    session_key,
    touch_at,
    position,
    touch_count,
    channel,
    source,
    medium,
    campaign,
    is_lead_form_session,
    days_before_lead
  from {{ ref "int_lead_touchpoints" }}
  union all
  -- no web touchpoint: one Unattributed touch, so the lead is never dropped
  select
    l.lead_id,
    cast(null as string),
    l.created_at,
    1,
    1,
    'Unattributed',
    cast(null as string),
    cast(null as string),
    cast(null as string),
    false,
    0
  from leads as l
  left join {{ ref "int_lead_touchpoints" }} as t on t.lead_id = l.lead_id
  where t.lead_id is null
),

weighted as (
  select
    t.*,
    ls.stage,
    ls.stage_at,
    ls.revenue_reporting,
    ls.reporting_currency,
    max(case when t.channel != 'Direct' then t.position end)
      over (partition by t.lead_id, ls.stage) as last_non_direct_position,
    -- time decay: half the weight every half-life before the lead's creation
    pow(2.0, -greatest(t.days_before_lead, 0) / {{ var "time_decay_half_life_days" }}) as decay_weight,
    -- Markov: the channel's removal effect shared by its touches in this journey
    re.removal_effect / count(*) over (partition by t.lead_id, ls.stage, re.channel) as markov_weight
  from touches as t
  join lead_stages as ls on ls.lead_id = t.lead_id and ls.stage_at is not null
  left join {{ ref "int_markov_removal_effects" }} as re
    on re.stage = ls.stage and re.touch_key = t.channel
),

normalised as (
  select
    *,
    decay_weight / sum(decay_weight) over (partition by lead_id, stage) as time_decay_credit,
    sum(coalesce(markov_weight, 0)) over (partition by lead_id, stage) as markov_total
  from weighted
),

models as (
  {{ macro "attribution_models" }}
),

credited as (
  select
    n.*,
    m.model,
    -- FLOAT64 on both engines: the branches mix DECIMAL literals in DuckDB
    {{ safe_cast `case m.model
      when 'first_touch' then case when n.position = 1 then 1.0 else 0.0 end
      when 'last_touch' then case when n.position = n.touch_count then 1.0 else 0.0 end
      when 'last_non_direct' then
        case when n.position = coalesce(n.last_non_direct_position, n.touch_count) then 1.0 else 0.0 end
      when 'linear' then 1.0 / n.touch_count
      when 'time_decay' then n.time_decay_credit
      when 'position_based' then
        case
          when n.touch_count = 1 then 1.0
          when n.touch_count = 2 then 0.5
          when n.position = 1 or n.position = n.touch_count then 0.4
          else 0.2 / (n.touch_count - 2)
        end
      when 'markov' then
        -- a journey whose channels all have zero removal effect (possible
        -- only for stages no journey converts at) falls back to linear
        case
          when n.markov_total > 0 then coalesce(n.markov_weight, 0) / n.markov_total
          else 1.0 / n.touch_count
        end
    end` "FLOAT64" }} as credit
  from normalised as n
  cross join models as m
)

select
  lead_id,
  stage,
  model,
  session_key,
  touch_at,
  position,
  touch_count,
  is_lead_form_session,
  channel,
  source,
  medium,
  campaign,
  days_before_lead,
  stage_at,
  credit,
  {{ safe_cast "credit * revenue_reporting" "NUMERIC" }} as revenue_credit,
  reporting_currency
from credited
