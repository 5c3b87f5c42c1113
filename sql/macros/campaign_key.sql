{{- /*
campaign_key: a utm campaign name as spend and sessions are matched on, so
both sides normalise it alike: '+' and '%20' (URL-encoded spaces) read as
spaces, case and surrounding spaces are ignored, runs of whitespace count as
one, and GA4's placeholders for traffic without a campaign ((not set),
(none), (direct), (organic), (referral)) and the empty name are NULL.
campaign is a STRING expression.
*/ -}}
{{ define "campaign_key" -}}
{{ params "campaign" -}}
nullif(nullif(nullif(nullif(nullif(nullif(
      trim(regexp_replace(lower(replace(replace({{ .campaign }}, '+', ' '), '%20', ' ')), '[[:space:]]+', ' ')),
      ''), '(not set)'), '(none)'), '(direct)'), '(organic)'), '(referral)')
{{- end }}
