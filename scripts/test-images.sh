#!/usr/bin/env bash
# npm run test:images: builds both images and runs them for real (podman, host network):
# the data container with the seed's arguments against an S3 emulator on the host (/health,
# /metadata, the image's HEALTHCHECK), the coordinator with a mounted config.json (/query),
# both as non-root users, and the compose file's S3 emulator and sample-data job from the
# image; prints the image sizes. Containers are removed whatever happens.
#
# Needs ../shared/tools/container-env.sh beside the checkout (podman + a local node:20-slim);
# without it the test is skipped. With it, any failure fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

CONTAINER_ENV=../shared/tools/container-env.sh
if [ ! -f "$CONTAINER_ENV" ]; then
  echo "test:images: SKIPPED: $CONTAINER_ENV not found, so no container tooling (podman) to build and run images with"
  exit 0
fi
# shellcheck source=/dev/null
source "$CONTAINER_ENV"

DATA_IMAGE=duckdb-s3-query
COORDINATOR_IMAGE=duckdb-distributed-query
ROWS=2000
BUCKET=sample-data
S3_ENV=(-e AWS_ACCESS_KEY_ID=S3RVER -e AWS_SECRET_ACCESS_KEY=S3RVER -e AWS_REGION=us-east-1)

work=$(mktemp -d)
containers=()
s3_pid=
cleanup() {
  local status=$?
  for c in "${containers[@]}"; do
    if [ "$status" -ne 0 ]; then
      echo "--- logs of $c" >&2
      ctr logs "$c" >&2 2>&1 || true
    fi
    ctr rm -f "$c" >/dev/null 2>&1 || true
  done
  if [ -n "$s3_pid" ]; then kill "$s3_pid" 2>/dev/null || true; wait "$s3_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  if [ "$status" -eq 0 ]; then echo "test:images: OK"; else echo "test:images: FAILED" >&2; fi
}
trap cleanup EXIT

step() { echo; echo "== $*"; }
free_port() {
  node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"
}
# http METHOD URL [BODY]: prints the body; fails unless the status is 200.
http() {
  node -e '
    const [method, url, body] = process.argv.slice(1);
    fetch(url, { method, body, headers: body ? { "content-type": "application/json" } : {} })
      .then(async (res) => {
        const text = await res.text();
        if (res.status !== 200) { console.error(`${method} ${url}: ${res.status} ${text}`); process.exit(1); }
        console.log(text);
      }, (err) => { console.error(`${method} ${url}: ${err.message}`); process.exit(1); });
  ' "$@"
}
# wait_healthy NAME URL CONTAINER: polls URL until 200; fails when the container stops.
wait_healthy() {
  local name=$1 url=$2 container=${3:-}
  for _ in $(seq 1 300); do
    if http GET "$url" >/dev/null 2>&1; then echo "$name healthy: $url"; return 0; fi
    if [ -n "$container" ] && [ "$(ctr inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" != true ]; then
      echo "$name stopped before $url answered" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "$name: $url did not answer 200 within 60 s" >&2
  return 1
}
# check JSON JS-EXPRESSION MESSAGE: evaluates the expression with `j` bound to the JSON.
check() {
  node -e '
    const [json, expr, message] = process.argv.slice(1);
    const j = JSON.parse(json);
    if (!new Function("j", `return (${expr});`)(j)) { console.error(`check failed: ${message}\n${json.slice(0, 2000)}`); process.exit(1); }
    console.log(`ok: ${message}`);
  ' "$1" "$2" "$3"
}

step "build $DATA_IMAGE and $COORDINATOR_IMAGE"
ctr build --format docker --network host -t "$DATA_IMAGE" -f Dockerfile .
ctr build --format docker --network host -t "$COORDINATOR_IMAGE" -f Dockerfile.distributed .

step "the runtime images run as a non-root user"
for image in "$DATA_IMAGE" "$COORDINATOR_IMAGE"; do
  uid=$(ctr run --rm --entrypoint id "$image" -u)
  echo "$image runs as uid $uid"
  [ "$uid" != 0 ]
done

step "S3 emulator on the host with $ROWS sample labels"
npm run build --silent
s3_port=$(free_port)
node --openssl-legacy-provider dist/tools/s3-emulator.js --port "$s3_port" --dir "$work/s3" --bucket "$BUCKET" &
s3_pid=$!
wait_healthy s3 "http://127.0.0.1:$s3_port/"
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 \
  node dist/tools/generate-data.js --labels "$ROWS" --out "$work/data" \
  --upload "s3://$BUCKET" --s3-endpoint "http://127.0.0.1:$s3_port"

step "data container: $DATA_IMAGE s3://$BUCKET/labels.csv.gz --table-name labels"
data_port=$(free_port)
data=dsq-test-labels-$$
containers+=("$data")
# The seed's arguments; host networking only here, so the port is a flag instead of -p.
ctr run -d --network host --name "$data" "${S3_ENV[@]}" \
  -e "AWS_ENDPOINT_URL_S3=http://127.0.0.1:$s3_port" -e "HEALTHCHECK_URL=http://127.0.0.1:$data_port/health" \
  "$DATA_IMAGE" "s3://$BUCKET/labels.csv.gz" --table-name labels --port "$data_port" >/dev/null
wait_healthy labels "http://127.0.0.1:$data_port/health" "$data"
metadata=$(http GET "http://127.0.0.1:$data_port/metadata")
check "$metadata" "j.view_name === 'labels' && j.row_count === $ROWS && j.columns.length === 5" \
  "/metadata: labels, $ROWS rows, 5 columns"
ctr healthcheck run "$data" && echo "ok: the image's HEALTHCHECK passes"

step "coordinator: $COORDINATOR_IMAGE with /app/config.json mounted"
coordinator_port=$(free_port)
printf '{"tables": {"labels": {"url": "http://127.0.0.1", "port": %s, "table_name": "labels"}}}\n' "$data_port" \
  >"$work/config.json"
coordinator=dsq-test-coordinator-$$
containers+=("$coordinator")
ctr run -d --network host --name "$coordinator" -v "$work/config.json:/app/config.json:ro" \
  -e "HEALTHCHECK_URL=http://127.0.0.1:$coordinator_port/health" \
  "$COORDINATOR_IMAGE" --port "$coordinator_port" >/dev/null
wait_healthy coordinator "http://127.0.0.1:$coordinator_port/health" "$coordinator"
answer=$(http POST "http://127.0.0.1:$coordinator_port/query" \
  '{"query": "SELECT label_id, name FROM labels WHERE name LIKE '"'%test%'"' ORDER BY label_id LIMIT 5"}')
check "$answer" "j.columns.join() === 'label_id,name' && j.results.length > 0 && j.results.every((r) => r.name.includes('test')) && j.source_tables.includes('labels')" \
  "/query through the coordinator answers rows of labels"
ctr healthcheck run "$coordinator" && echo "ok: the image's HEALTHCHECK passes"

step "docker-compose.yml's sample-data job, from the image (compose's S3 store is MinIO; here the emulator above)"
ctr run --rm --network host "${S3_ENV[@]}" --entrypoint '["node", "/app/dist/tools/generate-data.js"]' \
  "$DATA_IMAGE" --labels 100 --objects 4 --out /tmp/data --upload "s3://$BUCKET/compose" --s3-endpoint "http://127.0.0.1:$s3_port"
echo "ok: the sample data job uploads from the image"

step "image sizes"
for image in "$DATA_IMAGE" "$COORDINATOR_IMAGE"; do
  ctr image inspect --format "$image {{.Size}}" "$image" |
    awk '{ printf "%s: %.0f MB\n", $1, $2 / 1000000 }'
done
