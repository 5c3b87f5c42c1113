{{- /*
The touch columns of account_attribution_touchpoints, listed once for the
journey it normalises and the rows it publishes.
*/ -}}
{{ define "account_touch_columns" -}}
lead_id,
    session_key,
    touch_at,
    position,
    touch_count,
    channel,
    source,
    medium,
    campaign
{{- end }}
