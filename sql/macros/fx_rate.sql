{{- /*
The join condition that picks, for an amount in currency on day (a DATE), the
stg_fx__rates row (aliased rates) converting it into the reporting currency:
the pair's rate valid on that day, i.e. the nearest earlier one. No row
matches before a pair's first rate, so a left join leaves the rate NULL.
fct_lead_revenue and stg_spend__daily convert with it, so revenue and spend
use the same rate. Lines after the first are indented for an ON clause four
spaces deep.
*/ -}}
{{ define "fx_rate_on" -}}
{{ params "rates" "currency" "day" -}}
{{ .rates }}.from_currency = {{ .currency }}
    and {{ .rates }}.to_currency = {{ var "reporting_currency" }}
    and {{ .day }} >= {{ .rates }}.valid_from
    and ({{ .rates }}.valid_to is null or {{ .day }} < {{ .rates }}.valid_to)
{{- end }}
