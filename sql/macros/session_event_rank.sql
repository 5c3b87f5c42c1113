{{- /*
The rank of a GA4 event among the events of its session for which condition
holds, in event order (event_ts, then event_key so ties rank the same on every
build); NULL where condition does not hold. Rank 1 is the session's first such
event: stg_ga4__sessions takes its landing page and its first source of each
kind from it. It renders an expression over stg_ga4__events' columns whose
lines after the first are indented for a select list four spaces deep.
*/ -}}
{{ define "session_event_rank" -}}
{{ params "condition" -}}
case when {{ .condition }} then
      row_number() over (partition by session_key, ({{ .condition }}) order by event_ts, event_key)
    end
{{- end }}
