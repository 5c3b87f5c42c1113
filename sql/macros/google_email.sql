{{- /*
An email address normalised by Google's rules for hashed identifiers (Data
Manager API formatting guide, "email_address"; format_email_address in
Google's data-manager-python client): trimmed and lower-cased; for gmail.com
and googlemail.com the '+suffix' and every dot of the local part are
removed. An address that is not one '@' between two non-empty parts
without whitespace normalises to NULL: it would match nobody.
activation/identity holds the same rules in Go; tests/models checks that
both give Google's published hashes.
*/ -}}
{{ define "google_email" -}}
{{ params "email" -}}
case
  when not regexp_contains(lower(trim({{ .email }})), '^[^@[:space:]]+@[^@[:space:]]+$') then null
  when regexp_contains(lower(trim({{ .email }})), '@(gmail|googlemail)[.]com$') then concat(
    replace(regexp_replace(regexp_extract(lower(trim({{ .email }})), '^([^@]+)@'), '[+].*$', ''), '.', ''),
    '@', regexp_extract(lower(trim({{ .email }})), '@(.+)$'))
  else lower(trim({{ .email }}))
end
{{- end }}
