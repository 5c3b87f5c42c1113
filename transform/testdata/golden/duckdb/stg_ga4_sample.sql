/*
materialized: incremental
partition_by: event_date
cluster_by: [client_key]
*/
select
  parse_date('%Y%m%d', event_date) as event_date,
  timestamp_micros(event_timestamp) as event_ts,
  user_pseudo_id as client_key,
  (event_params[list_position(list_transform(event_params, p -> p.key), 'ga_session_id')].value.int_value) as ga_session_id,
  (event_params[list_position(list_transform(event_params, p -> p.key), 'page_location')].value.string_value) as page_location,
  (COALESCE(CAST(event_params[list_position(list_transform(event_params, p -> p.key), 'value')].value.int_value AS DOUBLE), CAST(event_params[list_position(list_transform(event_params, p -> p.key), 'value')].value.float_value AS DOUBLE), CAST(event_params[list_position(list_transform(event_params, p -> p.key), 'value')].value.double_value AS DOUBLE))) as value,
  (COALESCE(event_params[list_position(list_transform(event_params, p -> p.key), 'form_id')].value.string_value, CAST(event_params[list_position(list_transform(event_params, p -> p.key), 'form_id')].value.int_value AS VARCHAR), CAST(event_params[list_position(list_transform(event_params, p -> p.key), 'form_id')].value.float_value AS VARCHAR), CAST(event_params[list_position(list_transform(event_params, p -> p.key), 'form_id')].value.double_value AS VARCHAR))) as form_id,
  (user_properties[list_position(list_transform(user_properties, p -> p.key), 'plan')].value.string_value) as plan,
  sha256(lower(user_id)) as user_id_sha256,
  md5(concat(user_pseudo_id, '-', cast(event_timestamp as string))) as event_key,
  TRY_CAST(user_id AS BIGINT) as user_number
from "raw_ga4__events"
where TRUE
