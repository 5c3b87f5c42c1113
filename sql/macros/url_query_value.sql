{{- /*
url_query_value: the value of query parameter name (a bare word such as
gclid) in the URL url, NULL when the URL has none. The strpos guard skips
the regular expression on the many URLs that lack the parameter; it cannot
change the result, since the expression matches only where name= occurs.
*/ -}}
{{ define "url_query_value" -}}
{{ params "url" "name" -}}
case when strpos({{ .url }}, '{{ .name }}=') > 0 then regexp_extract({{ .url }}, '[?&]{{ .name }}=([^&#]+)') end
{{- end }}
