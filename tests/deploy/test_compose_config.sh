#!/bin/sh
# docker-compose.yml as Debian's Compose v1 (docker-compose 1.29) reads it:
# `docker-compose config` (no engine needed) accepts it with the required
# variables set and shows what it would run; without API_TOKEN or
# REDIS_PASSWORD it stops and names the variable.
#
#   test_compose_config.sh SOURCE_DIR
set -eu
SRC=$1
COMPOSE=${SD_DOCKER_COMPOSE:-docker-compose}
command -v "$COMPOSE" >/dev/null || { echo "FAILED: $COMPOSE is not installed (make test installs it)"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/statusd-compose-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failed=0
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }
ok() { echo "ok: $*"; }

TOKEN=0123456789abcdef0123456789abcdef
PASS=feedfacefeedface

# Only what a test sets reaches Compose: none of the caller's variables,
# and no .env file (an empty --env-file).
: >"$WORK/empty.env"
compose_config() { # compose_config OUT ERR VAR=VALUE...
    out=$1 err=$2
    shift 2
    env -i PATH="$PATH" HOME="$WORK" "$@" \
        "$COMPOSE" --env-file "$WORK/empty.env" -f "$SRC/docker-compose.yml" \
        --project-directory "$SRC" config >"$out" 2>"$err"
}

if compose_config "$WORK/config.yml" "$WORK/err" REDIS_PASSWORD=$PASS API_TOKEN=$TOKEN; then
    ok "docker-compose config accepts the file"
else
    fail "docker-compose config refused the file: $(cat "$WORK/err")"
    exit 1
fi

# What the resolved file says, one fact a line, from its YAML.
/usr/bin/python3 - "$WORK/config.yml" >"$WORK/facts" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
for name in ("statusd-1", "statusd-2"):
    v = s[name]
    env = v.get("environment", {})
    print(f"{name} image={v.get('image')} init={v.get('init')} "
          f"build={'yes' if 'build' in v else 'no'} pull_policy={v.get('pull_policy')} "
          f"api_token={env.get('API_TOKEN')} published={'yes' if v.get('ports') else 'no'}")
for p in s["nginx"].get("ports", []):
    if isinstance(p, dict):
        print(f"nginx publishes {p.get('host_ip')}:{p.get('published')}:{p.get('target')}")
    else:
        print(f"nginx publishes {p}")
PY

expect() { # expect FACT: a line of the facts, exactly
    if grep -qxF "$1" "$WORK/facts"; then ok "$1"; else fail "want '$1', got:"; sed 's/^/  /' "$WORK/facts"; fi
}
expect "statusd-1 image=statusd:local init=True build=yes pull_policy=None api_token=$TOKEN published=no"
expect "statusd-2 image=statusd:local init=True build=no pull_policy=never api_token=$TOKEN published=no"
expect "nginx publishes 127.0.0.1:8080:80/tcp"

if compose_config "$WORK/open.yml" "$WORK/err" REDIS_PASSWORD=$PASS API_TOKEN=$TOKEN \
    PUBLISH_ADDR=0.0.0.0 PUBLISH_PORT=9090; then
    if grep -q '0\.0\.0\.0:9090:80' "$WORK/open.yml"; then
        ok "PUBLISH_ADDR and PUBLISH_PORT change the published address"
    else
        fail "PUBLISH_ADDR=0.0.0.0 PUBLISH_PORT=9090 not published as 0.0.0.0:9090"
    fi
else
    fail "with PUBLISH_ADDR: $(cat "$WORK/err")"
fi

# A required variable missing: an error that names it, no configuration.
for missing in API_TOKEN REDIS_PASSWORD; do
    if [ "$missing" = API_TOKEN ]; then set -- REDIS_PASSWORD=$PASS; else set -- API_TOKEN=$TOKEN; fi
    if compose_config "$WORK/none.yml" "$WORK/err" "$@"; then
        fail "without $missing: docker-compose config succeeded"
    elif grep -q "set $missing" "$WORK/err" && [ ! -s "$WORK/none.yml" ]; then
        ok "without $missing: refused, naming it"
    else
        fail "without $missing: the error does not name it: $(cat "$WORK/err")"
    fi
done

# An empty value is as good as none (the :? form).
if compose_config "$WORK/none.yml" "$WORK/err" REDIS_PASSWORD=$PASS API_TOKEN=; then
    fail "with an empty API_TOKEN: docker-compose config succeeded"
else
    ok "an empty API_TOKEN is refused"
fi

[ "$failed" -eq 0 ] || { echo "$failed failed"; exit 1; }
