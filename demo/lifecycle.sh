#!/usr/bin/env bash
# Walks one task through its lifecycle with the CLI and prints its transition log.
# Runs in a fresh temporary home, so it never touches your own tasks.
set -euo pipefail

taskline=${TASKLINE:-taskline}
TASKLINE_HOME=$(mktemp -d)
export TASKLINE_HOME
trap 'rm -rf "$TASKLINE_HOME"' EXIT
unset TASKLINE_DATABASE_URL TASKLINE_CONFIG

step() { printf '\n\033[1m$ taskline %s\033[0m\n' "$*"; "$taskline" "$@"; }

step agent add coder --model local:smollm2 --role "software engineer"
printf '\n\033[1m$ taskline task create "Write a greeting" ...\033[0m\n'
task=$("$taskline" task create "Write a greeting" \
  --description "Create hello.txt containing a friendly greeting." \
  --criterion "hello.txt exists and says hello" \
  --check "grep -qi hello hello.txt" \
  --budget-usd 0.05 --max-turns 8)
echo "$task"
step task assign "$task" coder
step task move "$task" IN_PROGRESS --reason "the agent started"
step task move "$task" IN_REVIEW --reason "work submitted for review"
printf '\n# A move the lifecycle table does not allow is refused, and nothing is written:\n'
step task move "$task" ASSIGNED --reason "not allowed from IN_REVIEW" || true
step task move "$task" COMPLETED --reason "the check passed"
printf '\n# COMPLETED is terminal:\n'
step task cancel "$task" || true
step task show "$task"
