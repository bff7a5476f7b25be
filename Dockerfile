# The genesys-om runtime as a container image.
#
#   pip wheel -w build/wheels . async-timeout   # the project and its dependencies (make image does both)
#   docker build -t genesys-om .                # installs them from that wheelhouse, with no index
#
# The wheelhouse is built where PyPI answers; the image needs no index. async-timeout is added
# because redis needs it on Python older than 3.11.3 (Debian bookworm's python3 is 3.11.2), which
# `pip wheel` on a newer host Python leaves out.
#
# BASE is any image with Python 3.11 or newer, its venv module and useradd (Debian's python3 and
# python3-venv will do): the default is the public slim image.
ARG BASE=python:3.11-slim

FROM ${BASE} AS install
LABEL org.genesys-om.stage=install
COPY build/wheels /wheels
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels genesys-om-handover \
 && /opt/venv/bin/genesys-om --version

FROM ${BASE}
LABEL org.opencontainers.image.title="genesys-om" \
      org.opencontainers.image.description="Genesys Cloud Open Messaging handover runtime"
# The wheelhouse stays in the first stage: only the virtual environment is copied.
COPY --from=install /opt/venv /opt/venv
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/genesys-om --no-create-home \
        --shell /usr/sbin/nologin genesys-om \
 && install -d -o genesys-om -g genesys-om -m 0750 /var/lib/genesys-om
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GENESYS_OM_PORT=8080 \
    GENESYS_OM_STORE_URL=sqlite:////var/lib/genesys-om/genesys-om.db
# /config holds a config that reads every value and secret from the environment (${NAME}) and its
# flow; mount your own directory over it (read-only) for your flows. SQLite lives in the volume.
COPY deploy/genesys-om.toml /config/genesys-om.toml
COPY deploy/flows /config/flows
VOLUME /var/lib/genesys-om
WORKDIR /var/lib/genesys-om
USER genesys-om
EXPOSE 8080
# /healthz answers 200 while the process serves; GENESYS_OM_PORT must name the port it listens on.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GENESYS_OM_PORT', '8080'), timeout=2)"]
# Exec form: the runtime is PID 1 and receives SIGTERM itself (it stops cleanly, exit code 0);
# `docker run --init` works as well.
ENTRYPOINT ["genesys-om"]
CMD ["serve", "--config", "/config/genesys-om.toml"]
