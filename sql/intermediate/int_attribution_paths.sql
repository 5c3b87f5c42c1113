/*
description: >
  Every journey as a path of states, counted: one row per (stage, path)
  with how many journeys took the path and how many of them converted at
  the stage. Journeys are every lead's
  touchpoints and every GA client never linked to a lead (all its
  sessions), so non-converting journeys weigh in; a journey converts at
  stage lead when it is a lead, at stage sql when the lead reached SQL, at
  stage won when it was won. A state is a touch's key at the var
  markov_grain (channel, source_medium or campaign; default channel; the
  touch_key macro), joined by ' > ' and escaped by the path_state macro. The data-driven Go models (int_markov_removal_effects,
  int_shapley_path_credits) read it: only these counts leave the warehouse.
materialized: table
tests:
  not_null: [stage, path, journeys, conversions]
  unique_combination: [[stage, path]]
  accepted_values: {stage: [lead, sql, won]}
*/
with stages as (
  select 'lead' as stage
  union all select 'sql'
  union all select 'won'
),

lead_steps as (
  select
    concat('lead:', t.lead_id) as journey_id,
    t.position,
    {{ macro "touch_key" "t.channel" "t.source" "t.medium" "t.campaign" }} as state,
    true as converts_lead,
    coalesce(s.sql_at, s.opportunity_at, s.won_at) is not null as converts_sql,
    s.won_at is not null as converts_won
  from {{ ref "int_lead_touchpoints" }} as t
  join {{ ref "int_lead_stages" }} as s on s.lead_id = t.lead_id
),

linked_clients as (
  select distinct client_key
  from {{ ref "int_lead_identity" }}
  where client_key is not null
),

visitor_steps as (
  select
    concat('client:', s.client_key) as journey_id,
    row_number() over (partition by s.client_key order by s.session_start_ts, s.session_key) as position,
    {{ macro "touch_key" "coalesce(s.channel, 'Unassigned')" "s.source" "s.medium" "s.campaign" }} as state,
    false as converts_lead,
    false as converts_sql,
    false as converts_won
  from {{ ref "stg_ga4__sessions" }} as s
  left join linked_clients as lc on lc.client_key = s.client_key
  where s.client_key is not null and lc.client_key is null
),

steps as (
  select * from lead_steps
  union all
  select * from visitor_steps
),

journeys as (
  select
    journey_id,
    string_agg({{ macro "path_state" "state" }}, ' > ' order by position) as path,
    converts_lead,
    converts_sql,
    converts_won
  from steps
  group by journey_id, converts_lead, converts_sql, converts_won
)

select
  st.stage,
  j.path,
  count(*) as journeys,
  count(case
    when (st.stage = 'lead' and j.converts_lead)
      or (st.stage = 'sql' and j.converts_sql)
      or (st.stage = 'won' and j.converts_won) then 1
  end) as conversions
from journeys as j
cross join stages as st
group by st.stage, j.path
