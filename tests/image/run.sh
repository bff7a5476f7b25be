#!/usr/bin/env bash
# make image-test: build the container image and run a real handover through it.
#
# 1. A Docker engine: the running one, or Debian's dockerd started here without a bridge network
#    (containers use --network host, so everything stays on loopback) and stopped at the end, by
#    its PID, only when this script started it.
# 2. A base image: $BASE when given, else python:3.11-slim when the engine has it, else one made
#    from Debian's packages (debootstrap + python3 + python3-venv), imported once and kept as the
#    local tag $LOCAL_BASE, so later runs skip this step.
# 3. The wheelhouse (the project and its dependencies) built on this host, then the image built
#    from it with no package index.
# 4. tests/image/handover.py: the emulator on the host loopback, the image's runtime against it,
#    one handover, the HEALTHCHECK status, and `docker stop` ending the container cleanly in time.
# 5. tests/image/compose.sh: compose.yaml up with that image and Redis, both healthy, then down.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY="${PY:-.venv/bin/python}"
IMAGE="${IMAGE:-genesys-om:image-test}"
LOCAL_BASE="${LOCAL_BASE:-genesys-om-base:bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
WORK="build/image-test"
LABEL="org.genesys-om.test=image"
export DOCKER_BUILDKIT=0   # the classic builder: no buildx plugin is needed

mkdir -p "$WORK"
# One run at a time on a machine: a run that started dockerd stops it at its end, under any other.
exec 9>"${TMPDIR:-/tmp}/genesys-om-image-test.lock"
if ! flock -n 9; then
  echo "image-test: another run holds ${TMPDIR:-/tmp}/genesys-om-image-test.lock; waiting for it (up to 10 min)"
  flock -w 600 9 || { echo "image-test: the other run did not finish" >&2; exit 1; }
fi
t0=$SECONDS
phase_start=$SECONDS
phase() {
  echo "image-test: $1 ($((SECONDS - phase_start)) s; $((SECONDS - t0)) s in all)"
  phase_start=$SECONDS
}

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

started_dockerd=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if docker info >/dev/null 2>&1; then
    # Containers of an interrupted run; the driver removes its own when it ends normally.
    ids=$(docker ps -aq --filter "label=$LABEL" 2>/dev/null || true)
    [ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1 || true
  fi
  if [ -n "$started_dockerd" ]; then
    $sudo kill -TERM "$started_dockerd" 2>/dev/null || true
    for _ in $(seq 100); do
      $sudo kill -0 "$started_dockerd" 2>/dev/null || break
      sleep 0.2
    done
    if $sudo kill -0 "$started_dockerd" 2>/dev/null; then
      echo "image-test: dockerd ($started_dockerd) did not stop within 20 s; killing it" >&2
      $sudo kill -KILL "$started_dockerd" 2>/dev/null || true
    fi
    echo "image-test: stopped the docker daemon this run started (pid $started_dockerd)"
  fi
  echo "image-test: $([ "$status" -eq 0 ] && echo passed || echo "FAILED ($status)") in $((SECONDS - t0)) s"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The base image, the wheelhouse and the image need about 1 GB; say so rather than fail halfway.
free_mb=$(df -Pm /var/lib . | awk 'NR > 1 && (min == "" || $4 < min) { min = $4 } END { print min }')
if [ "${free_mb:-0}" -lt 1500 ]; then
  echo "image-test: only ${free_mb} MB free on /var/lib or here; 1500 MB are needed" >&2
  exit 1
fi

# 1. The engine.
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || ! command -v docker >/dev/null; then
  echo "image-test: installing Debian's docker.io and debootstrap"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >"$WORK/apt.log" 2>&1 || {
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >"$WORK/apt.log" 2>&1
  }
fi
if ! docker info >/dev/null 2>&1; then
  # In a session of its own, so that a signal to this run's process group (a CI timeout) reaches
  # this script, which removes the containers first and then stops the daemon.
  $sudo setsid dockerd --bridge=none --iptables=false >"$WORK/dockerd.log" 2>&1 9>&- &
  started_dockerd=$!
  echo "$started_dockerd" >"$WORK/dockerd.pid"
  for _ in $(seq 150); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$started_dockerd" 2>/dev/null || { tail -20 "$WORK/dockerd.log" >&2; exit 1; }
    sleep 0.2
  done
  docker info >/dev/null 2>&1 || { echo "image-test: dockerd did not answer within 30 s" >&2; exit 1; }
  phase "started dockerd (pid $started_dockerd)"
else
  phase "using the running docker engine"
fi
# Containers an interrupted earlier run may have left.
ids=$(docker ps -aq --filter "label=$LABEL")
[ -z "$ids" ] || docker rm -f -v $ids >/dev/null

# 2. The base image.
if [ -z "${BASE:-}" ]; then
  if docker image inspect python:3.11-slim >/dev/null 2>&1; then
    BASE=python:3.11-slim
  else
    BASE="$LOCAL_BASE"
    if ! docker image inspect "$BASE" >/dev/null 2>&1; then
      rootfs="$WORK/rootfs"
      $sudo rm -rf "$rootfs"
      echo "image-test: making the base image $BASE from Debian bookworm (debootstrap, about a minute)"
      if ! $sudo timeout 600 debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" \
          "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1; then
        tail -20 "$WORK/debootstrap.log" >&2
        exit 1
      fi
      $sudo rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
      $sudo tar -C "$rootfs" -c . | docker import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -m "Debian bookworm minbase with python3 and python3-venv" - "$BASE" >/dev/null
      $sudo rm -rf "$rootfs"
      phase "made the base image $BASE"
    fi
  fi
fi
phase "base image: $BASE"

# 3. The wheelhouse and the image.
rm -rf build/wheels
"$PY" -m pip wheel -q --no-build-isolation -w build/wheels . async-timeout >"$WORK/wheels.log" 2>&1 || {
  tail -20 "$WORK/wheels.log" >&2
  exit 1
}
phase "built the wheelhouse ($(ls build/wheels | wc -l) wheels)"
if ! timeout 600 docker build -q --force-rm --build-arg "BASE=$BASE" -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
  tail -30 "$WORK/build.log" >&2
  exit 1
fi
# The first stage (the wheelhouse and the installing pip) is left untagged by the classic builder.
docker image prune -f --filter "label=org.genesys-om.stage=install" >/dev/null
phase "built the image $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"

# 4. The handover through the image.
PYTHONPATH=tests timeout --foreground 180 "$PY" tests/image/handover.py "$IMAGE"
phase "ran the image"

# 5. compose.yaml: the image beside Redis.
BASE="$BASE" IMAGE="$IMAGE" PY="$PY" timeout --foreground 300 tests/image/compose.sh
phase "ran compose.yaml"

# Images of earlier runs, untagged by now (the labels are the Dockerfile's).
docker image prune -f --filter "label=org.opencontainers.image.title=genesys-om" >/dev/null
docker image prune -f --filter "label=org.genesys-om.stage=install" >/dev/null
