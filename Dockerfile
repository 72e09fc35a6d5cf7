# The custody API server. docker-compose.yml runs it with PostgreSQL and MinIO Object Lock.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY custody ./custody
COPY storage ./storage
COPY api ./api
COPY cli ./cli
RUN pip install ".[server]" \
    && useradd --system --uid 10001 --home-dir /var/lib/custody --shell /usr/sbin/nologin custody \
    && mkdir -p /var/lib/custody \
    && chown custody:custody /var/lib/custody \
    && chmod 0700 /var/lib/custody

# the signing key and admin token live in the data dir: never run as root
USER custody
WORKDIR /var/lib/custody
ENV CUSTODY_DATA_DIR=/var/lib/custody
VOLUME ["/var/lib/custody"]
EXPOSE 8000
CMD ["custody", "serve", "--host", "0.0.0.0", "--port", "8000"]
