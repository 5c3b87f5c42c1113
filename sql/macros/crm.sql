{{- /*
The latest loaded version of each record of a CRM raw table: loaders append a
row per version they see, so staging keeps, per key, the row the CRM modified
last, and of equal modification times the one loaded last (a version without
modified_at loses to any that has one). Versions tied on both (two rows of one
record with the same updated_at in one export file, loaded in one batch) are
told apart by version_hash, the loader's hash of the row's content: the
smallest wins, so the pick is the same on both engines and in every run.
version_conflict is true when a version tied with the one kept differs from
it in is_deleted or in a column of compared, the comma-separated columns the
model reads: nothing says which is current. Versions that differ only in
what the model never reads (a lead's phone or name) stage the same whichever
is kept, so they are no conflict, and neither are identical copies. filter
is a condition on the raw rows applied before ranking. It renders a query
whose rows carry version_rank = 1, with lines after the first indented for a
CTE body two spaces deep.
*/ -}}
{{ define "crm_latest_version" -}}
{{ params "relation" "key" "filter" "compared" -}}
select *
  from (
    select
      *,
      row_number() over (
        partition by {{ .key }}
        order by modified_at desc nulls last, loaded_at desc, version_hash nulls last
      ) as version_rank,
      -- fewer versions agree with this one than are tied with it; a window
      -- partition holds NULLs together, as the comparison must
      count(*) over (partition by {{ .key }}, modified_at, loaded_at)
        > count(*) over (partition by {{ .key }}, modified_at, loaded_at, is_deleted, {{ .compared }})
        as version_conflict
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

