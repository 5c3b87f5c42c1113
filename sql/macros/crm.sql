{{- /*
The latest loaded version of each record of a CRM raw table: loaders append a
row per version they see, so staging keeps, per key, the row the CRM modified
last, and of equal modification times the one loaded last (a version without
modified_at loses to any that has one). filter is a condition on the raw rows
applied before ranking. It renders a query whose rows carry version_rank = 1,
with lines after the first indented for a CTE body two spaces deep.
*/ -}}
{{ define "crm_latest_version" -}}
{{ params "relation" "key" "filter" -}}
select *
  from (
    select
      *,
      row_number() over (
        partition by {{ .key }}
        order by modified_at desc nulls last, loaded_at desc
      ) as version_rank
    from {{ .relation }}
    where {{ .filter }}
  ) as versions
  where version_rank = 1
{{- end }}

{{- /*
crm_version_columns: the columns every CRM staging model ends a record
with (deleted flag, the version's modification time, when it was loaded),
for the raw row aliased r.
*/ -}}
{{ define "crm_version_columns" -}}
{{ params "r" -}}
coalesce({{ .r }}.is_deleted, false) as is_deleted,
  {{ .r }}.modified_at,
  {{ .r }}.loaded_at
{{- end }}

