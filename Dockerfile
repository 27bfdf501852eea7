# One image for the API and the workers; the command picks the role.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    # glibc re-maps large activation buffers on every forward pass by default; keeping them
    # mapped roughly triples CPU encoder throughput (docs/benchmarks.md).
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY clipshoe clipshoe
COPY catalog catalog
COPY search search
COPY ingest ingest
COPY encoder encoder
COPY workers workers
COPY api api
COPY migrations migrations
RUN pip install .

RUN useradd --create-home clipshoe && mkdir -p /data && chown clipshoe /data
USER clipshoe
ENV CLIPSHOE_DATA_DIR=/data
EXPOSE 8000
CMD ["clipshoe", "serve", "--host", "0.0.0.0", "--port", "8000"]
