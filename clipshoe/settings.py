"""The one settings object. Every knob is an env var with the CLIPSHOE_ prefix.

With nothing set, ClipShoe runs embedded on one machine: a SQLite file, Qdrant's embedded
engine in a folder, Celery tasks executed in-process. Setting URLs switches to Postgres,
Redis and a Qdrant server with the same code:

    CLIPSHOE_DATABASE__URL=postgresql+psycopg://postgres@127.0.0.1:5432/clipshoe
    CLIPSHOE_BROKER__URL=redis://127.0.0.1:6379/0
    CLIPSHOE_QDRANT__URL=http://127.0.0.1:6333
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseModel):
    url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file in the data dir.")
    echo: bool = False


class QdrantSettings(BaseModel):
    url: str | None = Field(None, description="Qdrant server URL; unset = embedded store in the data dir.")
    api_key: str | None = None
    path: Path | None = Field(None, description="Embedded store folder; default: <data_dir>/qdrant.")
    backend: str = Field(
        "edge", description="Embedded engine: 'edge' (qdrant-edge-py) or 'local' (qdrant-client local mode)."
    )
    alias: str = Field("clipshoe_products", description="Alias that names the live collection.")
    # 128 gave filtered recall@10 0.985 at 100k with real query vectors, 256 gave 0.991
    # (bench/bench_search_scale.py; docs/benchmarks.md) for a few ms more.
    hnsw_ef: int = Field(256, ge=1, description="HNSW search breadth: recall against latency.")
    # Qdrant builds a small HNSW graph inside every brand, category, gender, colour and price
    # block big enough to matter. At 1M products on 2 cores they take the HNSW build from 12 to
    # 44 min; without them filtered recall@10 fell from 0.99 to 0.76 (docs/benchmarks.md).
    filter_links: bool = Field(
        True, description="HNSW links inside each large filter value's block, for new collections."
    )
    optimize_min_points: int = Field(
        20_000, description="Embedded store: build HNSW after `clipshoe ingest` from this many points on."
    )
    # A Qdrant cluster (deploy/qdrant-cluster/): how each new collection spreads over the nodes.
    # Unset: Qdrant's defaults (one replica). See docs/operations.md.
    shard_number: int | None = Field(None, ge=1, description="Shards per collection (cluster).")
    replication_factor: int | None = Field(None, ge=1, description="Copies of each shard (cluster).")
    write_consistency_factor: int | None = Field(
        None, ge=1, description="Replicas that must confirm a write before it succeeds (cluster)."
    )


class BrokerSettings(BaseModel):
    url: str | None = Field(None, description="Celery broker (Redis) URL; unset = tasks run in-process.")
    result_backend: str | None = None
    visibility_timeout: int = Field(
        3600,
        ge=1,
        description="Seconds before Redis gives an unacknowledged task to another worker: how long the task "
        "of a worker killed outright waits to run again (docs/faults.md). A task still running then runs "
        "twice (harmless, tasks are idempotent), so keep it above the usual task time.",
    )


class EncoderSettings(BaseModel):
    model: str = Field(
        "default", description="Model name: default, base, hf:<id|folder>, open_clip:<arch>:<tag>"
    )
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N")
    batch_size: int = 32


class IngestSettings(BaseModel):
    batch_size: int = Field(64, description="Products per embed task.")
    max_queued_batches: int = Field(
        8,
        ge=1,
        description="Embed batches of one job in the broker at once (backpressure: the rest wait as "
        "rows in the database); give at least one per encode worker.",
    )
    feed_task_items: int = Field(
        5000,
        ge=1,
        description="Feed items one ingest task reads before it queues its continuation: live jobs "
        "get in between, and no task outlives the broker's visibility timeout.",
    )
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    # Photos named by URL (ingest/image_fetch.py): each download is bounded in time and size.
    image_connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect to an image server.")
    image_read_timeout: float = Field(10.0, gt=0, description="Seconds of silence before a download fails.")
    image_fetch_deadline: float = Field(30.0, gt=0, description="Seconds for a whole photo download.")
    image_download_concurrency: int = Field(8, ge=1, description="Photo downloads in flight at once.")
    image_max_side: int = Field(2048, ge=64, description="Longest side of the stored copy of a photo.")
    thumbnail_size: int = Field(256, ge=16, description="Longest side of the stored thumbnails.")
    phash_distance: int = Field(
        4,
        ge=-1,
        le=64,
        description="Perceptual-hash bits within which a photo that also looks alike in colour is a near "
        "duplicate of a stored one and reuses it; -1 links exact duplicates only.",
    )
    duplicate_threshold: float = Field(
        0.97, description="Photo cosine from which two listings of one brand are the same shoe."
    )
    # What POST /ingest/jobs may make the server read (the CLI, run by the operator, reads anything).
    feed_roots: list[Path] | None = Field(
        None,
        description="Folders API-submitted feeds, and the local photos they name, must lie in; "
        "default: [<data_dir>/feeds].",
    )
    allow_private_urls: bool = Field(
        False,
        description="Download photos from loopback, private and link-local addresses too (a feed could "
        "otherwise make the server fetch from internal services); for tests and closed networks.",
    )


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = []
    max_upload_bytes: int = 10 * 1024 * 1024
    require_key: bool = Field(
        False,
        description="Writes need an X-API-Key even before any key exists (set in deployments). Once a "
        "key has been created (`clipshoe apikey create`), writes always need one.",
    )


class LogSettings(BaseModel):
    format: Literal["plain", "json"] = Field(
        "plain", description="'json': one JSON object per line, with the request id (deployments)."
    )
    level: str = "INFO"


class MetricsSettings(BaseModel):
    enabled: bool = Field(True, description="Serve Prometheus metrics at /metrics.")
    worker_port: int | None = Field(
        None, description="Celery workers serve their Prometheus metrics on this port (unset: they don't)."
    )


class RateLimitSettings(BaseModel):
    """Token buckets per client (API key, else IP); in Redis when one is configured, so they hold
    across API replicas, in memory otherwise."""

    enabled: bool = Field(False, description="Off in the embedded demo; the compose stack turns it on.")
    redis_url: str | None = Field(None, description="Redis for the buckets; default: the broker URL.")
    search_per_second: float = Field(10.0, gt=0, description="Searches a client may sustain per second.")
    search_burst: int = Field(60, ge=1, description="Searches a client may make at once.")
    upload_per_second: float = Field(1.0, gt=0, description="Photo uploads a client may sustain per second.")
    upload_burst: int = Field(10, ge=1, description="Photo uploads a client may make at once.")


class CrawlSettings(BaseModel):
    """Manners of `clipshoe crawl` (ingest/crawl/, docs/crawling.md): all limits are per host."""

    user_agent: str = Field(
        "ClipShoeBot/0.1 (+https://github.com/clipshoe/clipshoe/blob/main/docs/crawling.md)",
        description="Sent with every request and matched against robots.txt; put your contact in it.",
    )
    requests_per_second: float = Field(0.5, gt=0, description="Requests per second to one host.")
    concurrency: int = Field(1, ge=1, description="Requests in flight to one host.")
    max_retries: int = Field(4, ge=0, description="Retries on 429, 5xx, timeouts and dropped connections.")
    backoff_base: float = Field(2.0, ge=0, description="Seconds; retry n waits up to base·2^n (jittered).")
    backoff_max: float = Field(120.0, ge=0, description="Longest wait; a longer Retry-After gives up.")
    timeout: float = Field(30.0, gt=0, description="Seconds per request.")
    base_urls: dict[str, str] = Field(
        {}, description='Send a site\'s requests elsewhere (a mirror), e.g. {"tiki": "http://mirror:8080"}.'
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLIPSHOE_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    data_dir: Path = Field(Path("var"), description="Where embedded state lives (SQLite, Qdrant, photos).")
    database: DatabaseSettings = DatabaseSettings()
    qdrant: QdrantSettings = QdrantSettings()
    broker: BrokerSettings = BrokerSettings()
    encoder: EncoderSettings = EncoderSettings()
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()
    log: LogSettings = LogSettings()
    metrics: MetricsSettings = MetricsSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    crawl: CrawlSettings = CrawlSettings()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'clipshoe.db').resolve()}"

    @property
    def qdrant_path(self) -> Path:
        return self.qdrant.path or self.data_dir / "qdrant"

    @property
    def feed_roots(self) -> list[Path]:
        """Where API-submitted feeds may be read from, as absolute paths."""
        roots = self.ingest.feed_roots
        return [r.expanduser().resolve() for r in (roots if roots is not None else [self.data_dir / "feeds"])]

    @property
    def media_dir(self) -> Path:
        """Validated product photos, stored by content hash."""
        return self.data_dir / "media"

    @property
    def embedded(self) -> bool:
        """True when tasks run in the calling process (no broker configured)."""
        return self.broker.url is None


@lru_cache
def get_settings() -> Settings:
    return Settings()
