#!/usr/bin/env bash
# Counts the words of {"text": "..."} read from stdin; prints the result as JSON on stdout.
# Logs go to stderr. Runs in the process tier (bubblewrap + its own cgroup), or in Docker when untrusted.
set -euo pipefail
input=$(cat)
text=$(printf '%s' "$input" | sed -n 's/.*"text"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
echo "counting $(printf '%s' "$text" | wc -c) bytes" >&2
printf '{"words": %d}\n' "$(printf '%s' "$text" | wc -w)"
