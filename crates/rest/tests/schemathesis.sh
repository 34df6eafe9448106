#!/usr/bin/env bash
# Property-based test of the REST API with Schemathesis: every operation of
# /openapi.json, every check, all four phases. Not part of CI.
#
#   crates/rest/tests/schemathesis.sh                        # seed 42, 30 examples
#   SEED=7 crates/rest/tests/schemathesis.sh                 # another seed
#   crates/rest/tests/schemathesis.sh --max-examples 100     # more `st run` options
#
# It makes a Python venv under target/schemathesis-venv (pip install schemathesis, on
# the first run), builds `roster`, starts it on SQLite in a temporary directory on free
# ports, runs `st run` with schemathesis.toml (next to this script), stops the server
# and exits with st's status: 0 no failures, 1 failures, 2 a usage or schema error.
# Needs python3 (with venv) and network access to PyPI for the first run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv=$target/schemathesis-venv
version=${SCHEMATHESIS_VERSION:-4.32.5}
seed=${SEED:-42}

if ! "$venv/bin/st" --version 2>/dev/null | grep -qF "version $version"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

cargo build --quiet --manifest-path "$root/Cargo.toml" -p roster
bin=$target/debug/roster

work=$(mktemp -d)
server=
cleanup() {
    if [[ -n $server ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
http_port=$(free_port)
grpc_port=$(free_port)
while [[ $grpc_port == "$http_port" ]]; do grpc_port=$(free_port); done

(
    cd "$work"
    exec env -u DATABASE_URL -u ROSTER_DATABASE_URL -u ROSTER_CONFIG \
        ROSTER_DATA_DIR="$work/data" \
        ROSTER_HTTP_ADDR="127.0.0.1:$http_port" \
        ROSTER_GRPC_ADDR="127.0.0.1:$grpc_port" \
        ROSTER_LOG=warn \
        "$bin" serve
) >"$work/server.log" 2>&1 &
server=$!

base=http://127.0.0.1:$http_port
key_file=$work/data/bootstrap-platform-key
for _ in $(seq 300); do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "roster exited early:" >&2
        cat "$work/server.log" >&2
        exit 2
    fi
    if [[ -s $key_file ]] && curl -sf "$base/readyz" >/dev/null; then
        break
    fi
    sleep 0.1
done
if ! curl -sf "$base/readyz" >/dev/null; then
    echo "roster did not become ready on $base:" >&2
    cat "$work/server.log" >&2
    exit 2
fi
key=$(<"$key_file")

# From the temporary directory, so Hypothesis's database stays out of the tree.
cd "$work"
status=0
"$venv/bin/st" --config-file "$here/schemathesis.toml" run "$base/openapi.json" \
    -H "Authorization: Bearer $key" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples 30 \
    --seed "$seed" \
    "$@" || status=$?
exit "$status"
