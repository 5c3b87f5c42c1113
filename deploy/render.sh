#!/usr/bin/env bash
# Prints a deploy definition with its ${VAR} placeholders filled from the
# environment; deploy.sh pipes it to gcloud, and jobs/deploy_test.go checks
# what it prints.
#
# A line that ends with "# with VAR" is kept only when VAR is set and not
# empty: an optional part, such as an ad platform the deployment leaves off,
# then sets nothing and names no secret. A placeholder whose variable is not
# set is an error rather than an empty string.
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: render.sh DEFINITION" >&2
  exit 2
fi
marker=' # with ([A-Z0-9_]+)$'
placeholder='\$\{([A-Z0-9_]+)\}'
while IFS= read -r line || [[ -n $line ]]; do
  if [[ $line =~ $marker ]]; then
    name=${BASH_REMATCH[1]}
    [[ -n "${!name:-}" ]] || continue
  fi
  # Left to right, so a value holding "${...}" is not read again.
  rest=$line
  line=
  while [[ $rest =~ $placeholder ]]; do
    name=${BASH_REMATCH[1]}
    if [[ -z "${!name+x}" ]]; then
      echo "deploy: $1 uses \${$name}, which is not set" >&2
      exit 2
    fi
    line+=${rest%%"${BASH_REMATCH[0]}"*}${!name}
    rest=${rest#*"${BASH_REMATCH[0]}"}
  done
  printf '%s\n' "$line$rest"
done <"$1"
