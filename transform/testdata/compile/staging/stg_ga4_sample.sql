/*
materialized: incremental
partition_by: event_date
cluster_by: [client_key]
*/
select
  parse_date('%Y%m%d', event_date) as event_date,
  timestamp_micros(event_timestamp) as event_ts,
  user_pseudo_id as client_key,
  {{ event_param "ga_session_id" "int" }} as ga_session_id,
  {{ event_param "page_location" "string" }} as page_location,
  {{ event_param "value" "number" }} as value,
  {{ event_param "form_id" "text" }} as form_id,
  {{ user_property "plan" "string" }} as plan,
  {{ sha256_hex "lower(user_id)" }} as user_id_sha256,
  {{ fingerprint "concat(user_pseudo_id, '-', cast(event_timestamp as string))" }} as event_key,
  {{ safe_cast "user_id" "INT64" }} as user_number
from {{ source "ga4" "events" }}
where {{ incremental_filter "export_date" }}
{{- if is_incremental }}
  and export_table not like 'events_intraday_%'
{{- end }}
