/*
description: >
  Every GA client's whole journey as a path of states, one row per client:
  its sessions in start order, each a touch's key at the var markov_grain
  (the touch_key macro), escaped by path_state and joined by ' > ', as
  int_attribution_paths counts them. A path gathers a client's sessions of
  every day, so an incremental run recomputes, from all their sessions, the
  paths of the clients with a session in the window and replaces those rows
  wherever they were (incremental_strategy: merge): a daily run reads the
  window's sessions and those clients' history, not a year of sessions. A
  client whose every session left the window keeps its row until a full
  refresh (GA4's late data adds sessions; it does not remove them).
materialized: incremental
incremental_strategy: merge
partition_by: last_session_date
unique_key: [client_key]
lookback_days: 3
tests:
  not_null: [client_key, last_session_date, path, sessions]
*/
with touched as (
  select distinct client_key
  from {{ ref "stg_ga4__sessions" }}
  where {{ incremental_filter "session_date" }} and client_key is not null
),

steps as (
  select
    s.client_key,
    s.session_date,
    s.session_start_ts,
    s.session_key,
    {{ macro "touch_key" "coalesce(s.channel, 'Unassigned')" "s.source" "s.medium" "s.campaign" }} as state
  from {{ ref "stg_ga4__sessions" }} as s
  join touched as t on t.client_key = s.client_key
)

select
  client_key,
  max(session_date) as last_session_date,
  count(*) as sessions,
  string_agg({{ macro "path_state" "state" }}, ' > ' order by session_start_ts, session_key) as path
from steps
group by client_key
