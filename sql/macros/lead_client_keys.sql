{{- /*
Every GA client key linked to a lead (identity, int_lead_identity's rows) with
the lead's creation time (leads, int_lead_stages' rows): one row per lead and
client key, whatever the number of links between them. The lead intermediates
find a lead's sessions and form submissions through it. It renders a query
whose lines after the first are indented for a CTE body two spaces deep.
*/ -}}
{{ define "lead_client_keys" -}}
{{ params "leads" "identity" -}}
select distinct l.lead_id, l.created_at, i.client_key
  from {{ .leads }} as l
  join {{ .identity }} as i on i.lead_id = l.lead_id
  where i.client_key is not null
{{- end }}
