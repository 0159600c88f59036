#!/usr/bin/env bash
# Makes roost.1 from the binary's --help and each subcommand's --help.
#   make-man.sh HELP2MAN ROOST_BINARY OUT
set -euo pipefail
help2man=$1 roost=$2 out=$3
extra=$(mktemp)
trap 'rm -f "$extra"' EXIT
{
  echo "[SUBCOMMANDS]"
  for sub in call stream emit listen bench health metrics record replay shadow; do
    echo ".SS \"roost $sub\""
    echo ".nf"
    "$roost" "$sub" --help | sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./'
    echo ".fi"
  done
  echo "[SEE ALSO]"
  echo "The user guide: docs/cli.md in the roost sources; moving a NestJS service: docs/migrating.md."
} >"$extra"
"$help2man" --no-info --no-discard-stderr --name="call, stream, emit, listen and bench on NestJS-protocol services; health and metrics of roost services; record, replay and shadow their traffic" \
  --include="$extra" --output="$out" "$roost"
