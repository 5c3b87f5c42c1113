/*
materialized: incremental
partition_by: event_date
cluster_by: [client_key]
*/
select
  parse_date('%Y%m%d', event_date) as event_date,
  timestamp_micros(event_timestamp) as event_ts,
  user_pseudo_id as client_key,
  (list_filter(event_params, p -> p.key = 'ga_session_id')[1].value.int_value) as ga_session_id,
  (list_filter(event_params, p -> p.key = 'page_location')[1].value.string_value) as page_location,
  (COALESCE(CAST(list_filter(event_params, p -> p.key = 'value')[1].value.int_value AS DOUBLE), CAST(list_filter(event_params, p -> p.key = 'value')[1].value.float_value AS DOUBLE), CAST(list_filter(event_params, p -> p.key = 'value')[1].value.double_value AS DOUBLE))) as value,
  (COALESCE(list_filter(event_params, p -> p.key = 'form_id')[1].value.string_value, CAST(list_filter(event_params, p -> p.key = 'form_id')[1].value.int_value AS VARCHAR), CAST(list_filter(event_params, p -> p.key = 'form_id')[1].value.float_value AS VARCHAR), CAST(list_filter(event_params, p -> p.key = 'form_id')[1].value.double_value AS VARCHAR))) as form_id,
  (list_filter(user_properties, p -> p.key = 'plan')[1].value.string_value) as plan,
  sha256(lower(user_id)) as user_id_sha256,
  md5(concat(user_pseudo_id, '-', cast(event_timestamp as string))) as event_key,
  TRY_CAST(user_id AS BIGINT) as user_number
from "raw_ga4__events"
where TRUE
