{{- /*
A state (channel, campaign, ...) escaped for a path string: % becomes %25 and
> becomes %3E, so " > " separates states whatever their names hold. The Go
models (transform/gomodel.go) undo it; keep the two in step.
*/ -}}
{{ define "path_state" -}}
{{ params "expr" -}}
replace(replace({{ .expr }}, '%', '%25'), '>', '%3E')
{{- end }}
