{{- /*
The latest loaded version of each record of a CRM raw table: loaders append a
row per version they see, so staging keeps, per key, the row the CRM modified
last, and of equal modification times the one loaded last (a version without
modified_at loses to any that has one). Versions tied on both (two rows of one
record with the same updated_at in one export file, loaded in one batch) are
told apart by version_hash, the loader's hash of the row's content: the
smallest wins, so the pick is the same on both engines and in every run.
version_conflict is true when the versions tied with the one kept differ in
content (identical copies share their hash): nothing says which is current.
Rows loaded before version_hash existed have none, and neither a tie-break
nor a conflict among them. filter is a condition on the raw rows applied
before ranking. It renders a query whose rows carry version_rank = 1, with
lines after the first indented for a CTE body two spaces deep.
*/ -}}
{{ define "crm_latest_version" -}}
{{ params "relation" "key" "filter" -}}
select *
  from (
    select
      *,
      row_number() over (
        partition by {{ .key }}
        order by modified_at desc nulls last, loaded_at desc, version_hash nulls last
      ) as version_rank,
      coalesce(
        min(version_hash) over (partition by {{ .key }}, modified_at, loaded_at)
          <> max(version_hash) over (partition by {{ .key }}, modified_at, loaded_at),
        false
      ) as version_conflict
    from {{ .relation }}
    where {{ .filter }}
  ) as versions
  where version_rank = 1
{{- end }}

{{- /*
crm_version_columns: the columns every CRM staging model ends a record
with (deleted flag, the version's modification time, when it was loaded,
and whether versions tied with it differ: crm_latest_version's
version_conflict), for the raw row aliased r.
*/ -}}
{{ define "crm_version_columns" -}}
{{ params "r" -}}
coalesce({{ .r }}.is_deleted, false) as is_deleted,
  {{ .r }}.modified_at,
  {{ .r }}.loaded_at,
  {{ .r }}.version_conflict
{{- end }}

