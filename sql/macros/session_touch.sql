{{- /*
session_touch: a GA4 session of lead l's clients as a touch, the leading
select-list columns every journey model shares: lead_id, session_key,
touch_at (the session start), channel, source, medium, campaign, and
is_lead_form_session (false: the form session is already a touchpoint).
*/ -}}
{{ define "session_touch" -}}
{{ params "l" "s" -}}
{{ .l }}.lead_id,
    {{ .s }}.session_key,
    {{ .s }}.session_start_ts,
    coalesce({{ .s }}.channel, 'Unassigned'),
    {{ .s }}.source,
    {{ .s }}.medium,
    {{ .s }}.campaign,
    false
{{- end }}
