#!/usr/bin/env python3
"""A research handler for statusd, run as `exec:` (see the Dockerfile beside it).

statusd writes the job's input ({"query": ..., "params": {...}}) to stdin and
sets STATUSD_JOB_ID. Each JSON object printed on its own line with "progress"
and/or "stage" updates the job; the last one with "result" is the job's
result. Exit 0 completes the job; another exit status fails it, with the end
of stderr as the message. On cancel or timeout statusd sends SIGTERM, then
SIGKILL.

The work here is a stand-in (word counts of the query); replace `research`
with the call to the service that does the real work.
"""
import json
import os
import platform
import sys
import time


def emit(**fields):
    print(json.dumps(fields), flush=True)


def research(query, params):
    words = query.split()
    return {
        "query": query,
        "words": len(words),
        "longest_word": max(words, key=len) if words else None,
        "params": params,
    }


def main():
    try:
        job = json.load(sys.stdin)
    except json.JSONDecodeError as e:
        print(f"input is not JSON: {e}", file=sys.stderr)
        return 1
    query = job.get("query")
    if not isinstance(query, str):
        print("input has no query string", file=sys.stderr)
        return 1
    step = float(os.environ.get("RESEARCH_STEP_S", "0.2"))

    emit(progress=10, stage="reading")
    time.sleep(step)
    emit(progress=60, stage="analyzing")
    result = research(query, job.get("params") or {})
    time.sleep(step)
    result["job"] = os.environ.get("STATUSD_JOB_ID")
    result["handler"] = f"python {platform.python_version()}"
    emit(progress=100, stage="done", result=result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
