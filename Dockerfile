# syntax=docker/dockerfile:1
# Build stage: build the bot's wheel (without the sandbox: simulators stay out of production),
# plus wheels of its pinned dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md config.example.yaml ./
COPY bot ./bot
COPY handlers ./handlers
COPY runbooks ./runbooks
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

# Runtime stage: no compilers, no pip cache, no sources beyond the installed wheel.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MINIO_CHATOPS_CONFIG=/etc/minio-chatops/config.yaml
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels 'minio-chatops[postgres]==0.1.0' \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin chatops
COPY runbooks /usr/share/minio-chatops/runbooks
USER 10001:10001
EXPOSE 3000 9102
ENTRYPOINT ["minio-chatops"]
CMD ["run"]
