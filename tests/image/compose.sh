#!/usr/bin/env bash
# compose.yaml brought up with the image just built and Redis: both turn healthy, the runtime
# answers /readyz with its Redis store ok and the bot answers; then everything is removed.
# Called by run.sh with a running engine; IMAGE is the image to run as genesys-om:latest.
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE="${IMAGE:?}"
WORK="build/image-test"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  if ! command -v docker-compose >/dev/null; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >"$WORK/apt-compose.log" 2>&1
  fi
  compose=(docker-compose)
fi

# Redis: the public image when the engine has it, else one from the Debian base with Debian's
# redis-server (its build fetches the package over the host network).
if docker image inspect redis:7 >/dev/null 2>&1; then
  export REDIS_IMAGE=redis:7
else
  export REDIS_IMAGE=genesys-om-redis:bookworm
  if ! docker image inspect "$REDIS_IMAGE" >/dev/null 2>&1; then
    mkdir -p "$WORK/redis"
    cat >"$WORK/redis/Dockerfile" <<DOCKERFILE
FROM ${BASE:?}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    redis-server >/dev/null && rm -rf /var/lib/apt/lists/*
WORKDIR /data
DOCKERFILE
    timeout 300 docker build -q --force-rm --network host -t "$REDIS_IMAGE" "$WORK/redis" >"$WORK/redis-build.log" 2>&1 || {
      tail -20 "$WORK/redis-build.log" >&2
      exit 1
    }
  fi
fi

docker tag "$IMAGE" genesys-om:latest
project="genesys-om-image-test-$$"
port=$("${PY:-.venv/bin/python}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export GENESYS_OM_HTTP_PORT="$port" GENESYS_OM_PUBLIC_URL="http://127.0.0.1:$port"
export GENESYS_REGION="http://127.0.0.1:9" GENESYS_DEPLOYMENT_NAME=BotHandover GENESYS_QUEUE=Support
# Values of the test run only (compose passes them to the container's environment).
export GENESYS_WEBHOOK_SECRET=compose-test-webhook-secret GENESYS_CLIENT_ID=compose-test GENESYS_CLIENT_SECRET=compose-test
down() { timeout 60 "${compose[@]}" -p "$project" -f compose.yaml down -v --timeout 10 >/dev/null 2>&1 || true; }
trap down EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

timeout 120 "${compose[@]}" -p "$project" -f compose.yaml up -d --no-build >"$WORK/compose.log" 2>&1 || {
  tail -20 "$WORK/compose.log" >&2
  exit 1
}
runtime=$(docker ps -q --filter "label=com.docker.compose.project=$project" \
  --filter "label=com.docker.compose.service=genesys-om")
status=""
for _ in $(seq 60); do
  status=$(docker inspect -f '{{.State.Health.Status}}' "$runtime")
  [ "$status" = healthy ] && break
  sleep 1
done
if [ "$status" != healthy ]; then
  echo "compose: the runtime is $status, not healthy, after 60 s" >&2
  docker logs --tail 30 "$runtime" >&2
  exit 1
fi
ready=$("${PY:-.venv/bin/python}" -c "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())" \
  "http://127.0.0.1:$port/readyz") || { echo "compose: /readyz does not answer 200" >&2; exit 1; }
case "$ready" in
  *'"store": "ok"'*) ;;
  *) echo "compose: /readyz answered $ready" >&2; exit 1 ;;
esac
echo "  compose: genesys-om healthy beside Redis ($REDIS_IMAGE), /readyz: $ready"
