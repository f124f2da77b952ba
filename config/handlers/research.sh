#!/bin/sh
# An example exec handler for statusd:
#   handler_research = exec:/path/to/config/handlers/research.sh
#
# statusd writes the job's input ({"query": ..., "params": {...}}) to stdin
# and sets STATUSD_JOB_ID. Every stdout line that is a JSON object with
# "progress" and/or "stage" updates the job; the last line with "result" is
# the job's result. Exit 0 completes the job; any other exit status fails
# it, with the end of stderr as the error message. Anything else printed is
# ignored. On cancel or timeout the process group gets SIGTERM, then SIGKILL.
set -eu

input=$(cat)
if [ -z "$input" ]; then
    echo "no input on stdin" >&2
    exit 1
fi

echo '{"progress": 10, "stage": "fetching"}'
sleep 1
echo '{"progress": 60, "stage": "thinking"}'
sleep 1

# The input is passed through as the result; a real handler would parse it
# (jq, python3 -c, ...) and call the service that does the work.
printf '{"progress": 100, "result": {"job": "%s", "input": %s}}\n' \
    "$STATUSD_JOB_ID" "$input"
