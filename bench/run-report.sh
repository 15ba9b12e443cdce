#!/usr/bin/env bash
# Medians of every measurement in $BENCH_OUT/results.jsonl, one row per
# name, as a Markdown table: the numbers docs/performance.md quotes.
# Usage: bench/run-report.sh [RESULTS_FILE].
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/run-lib.sh
trap - EXIT
file=${1:-$RESULTS}

jq -rs '
  def median: sort | if length == 0 then null
    elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def flat: [paths(numbers) as $p | {key: ($p | map(tostring) | join(".")), value: getpath($p)}]
    | map(select(.key != "round" and .key != "load1"));
  def fmt: if . == null then "" elif . >= 100 then (. * 10 | round / 10 | tostring)
    else (. * 1000 | round / 1000 | tostring) end;
  "| measurement | runs | max load | median values |",
  "|---|---|---|---|",
  (group_by(.name)[] as $g
   | ($g | map(flat) | add | group_by(.key)
      | map("\(.[0].key)=\(map(.value) | median | fmt)") | join(", ")) as $values
   | "| \($g[0].name) | \($g | length) | \($g | map(.load1) | max) | \($values) |")
' "$file"
