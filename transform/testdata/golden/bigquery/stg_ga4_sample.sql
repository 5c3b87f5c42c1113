/*
materialized: incremental
partition_by: event_date
cluster_by: [client_key]
*/
select
  parse_date('%Y%m%d', event_date) as event_date,
  timestamp_micros(event_timestamp) as event_ts,
  user_pseudo_id as client_key,
  (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_id') as ga_session_id,
  (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'page_location') as page_location,
  (SELECT COALESCE(CAST(value.int_value AS FLOAT64), CAST(value.float_value AS FLOAT64), CAST(value.double_value AS FLOAT64)) FROM UNNEST(event_params) WHERE key = 'value') as value,
  (SELECT COALESCE(value.string_value, CAST(value.int_value AS STRING), CAST(value.float_value AS STRING), CAST(value.double_value AS STRING)) FROM UNNEST(event_params) WHERE key = 'form_id') as form_id,
  (SELECT value.string_value FROM UNNEST(user_properties) WHERE key = 'plan') as plan,
  TO_HEX(SHA256(lower(user_id))) as user_id_sha256,
  TO_HEX(MD5(concat(user_pseudo_id, '-', cast(event_timestamp as string)))) as event_key,
  SAFE_CAST(user_id AS INT64) as user_number
from `my-project.sam.raw_ga4__events`
where TRUE
