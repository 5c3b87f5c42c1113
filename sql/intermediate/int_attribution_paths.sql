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
  A table: lead journeys are restated by every CRM change and the counts
  are over all journeys, but it reads visitors' paths already joined
  (int_visitor_paths, one row per client, incremental), so a rebuild costs
  a group-by over clients rather than a sort of every session.
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

-- visitors' paths come whole from int_visitor_paths, which an incremental
-- run keeps current for the clients it touched; clients linked to a lead
-- since are left out here, so the CRM restates this without a session scan
visitor_journeys as (
  select v.path, false as converts_lead, false as converts_sql, false as converts_won
  from {{ ref "int_visitor_paths" }} as v
  left join linked_clients as lc on lc.client_key = v.client_key
  where lc.client_key is null
),

journeys as (
  select
    string_agg({{ macro "path_state" "state" }}, ' > ' order by position) as path,
    converts_lead,
    converts_sql,
    converts_won
  from lead_steps
  group by journey_id, converts_lead, converts_sql, converts_won
  union all
  select * from visitor_journeys
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
