# The fake WRK Copilot services: one image, one service per container
# (`python -m fake_services <name>`, the same command line as the local stack).
FROM python:3.11.7-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WRK_HOST=0.0.0.0 \
    WRK_PORT=8000

# What the fake services import, pinned as in pyproject.toml (a test keeps the three in step).
RUN pip install \
    "httpx>=0.27" \
    "fastapi>=0.110" \
    "uvicorn>=0.29" \
    "httptools>=0.6" \
    "uvloop>=0.19" \
    "asyncpg>=0.32" \
    "redis>=8.1" \
    "prometheus-client>=0.20" \
    "opentelemetry-api>=1.24" \
    "opentelemetry-sdk>=1.24"

WORKDIR /app
COPY fake_services/ /app/fake_services/

# Spans land here (one JSON line per span); the harness mounts a run folder over it.
RUN mkdir -p /var/lib/wrk/spans && useradd --system --uid 10001 wrk \
    && chown wrk /var/lib/wrk/spans
USER wrk

EXPOSE 8000
CMD ["python", "-m", "fake_services", "edge"]
