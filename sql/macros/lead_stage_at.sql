{{- /*
When a lead reached a funnel stage, one definition for every model that
crosses leads with stages: lead is its creation; mql its MQL time, or its
SQL time for a lead the CRM moved straight to SQL (it passed MQL on the
way); sql the first of SQL, opportunity and won (sql_reached_at);
opportunity the first of opportunity and won (opportunity_reached_at); won
its won time. lead is a relation with created_at, mql_at, sql_reached_at,
opportunity_reached_at and won_at; stage a stage name expression.
*/ -}}
{{ define "lead_stage_at" -}}
{{ params "lead" "stage" -}}
case {{ .stage }}
      when 'lead' then {{ .lead }}.created_at
      when 'mql' then coalesce({{ .lead }}.mql_at, {{ .lead }}.sql_reached_at)
      when 'sql' then {{ .lead }}.sql_reached_at
      when 'opportunity' then {{ .lead }}.opportunity_reached_at
      when 'won' then {{ .lead }}.won_at
    end
{{- end }}


{{- /*
lead_stage_times: the select-list columns lead_stage_at reads, from a row
of fct_lead_revenue.
*/ -}}
{{ define "lead_stage_times" -}}
lead_id,
    created_at,
    mql_at,
    coalesce(sql_at, opportunity_at, won_at) as sql_reached_at,
    coalesce(opportunity_at, won_at) as opportunity_reached_at,
    won_at
{{- end }}
