"""A stack of the fault tests' own, so that breaking it breaks nothing else: a Postgres database of
its own, a private `redis-server` on a free port, a data folder (embedded vector store, photos)
and Celery workers started as separate processes with `clipshoe worker`, exactly as deployed.

The session's fixtures (tests/integration.py) share the `test` database and Redis db 15 with
every other test; killing connections or restarting a broker there would hit tests that are not
about faults. Here the test process reads the job's rows and, once no worker holds it, the
embedded store (it has one owner at a time).
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import redis
from PIL import Image
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import OperationalError

from catalog import repository
from catalog.db import get_engine, make_engine, migrate
from catalog.models import IngestJob, JobStatus, Product
from clipshoe.runtime import Runtime
from clipshoe.settings import (
    ApiSettings,
    BrokerSettings,
    DatabaseSettings,
    EncoderSettings,
    IngestSettings,
    QdrantSettings,
    Settings,
)
from ingest.sample import write_jsonl_feed
from tests.utils.server import free_port
from workers.celery_app import create_celery, queue_for

REPO = Path(__file__).resolve().parents[2]
# Torch on these machines wants large mmap and trim thresholds (see the project's notes).
GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296"


def wait_until(check: Callable[[], object], what: str, timeout: float = 240, every: float = 0.05) -> object:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(every)
    return result


def noise_jpeg(seed: int, size: tuple[int, int] = (48, 64)) -> bytes:
    """A photo of its own: noise from its seed, so no two listings are near-duplicates."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def photo_feed(folder: Path, source: str, n: int, photos: bool = True) -> Path:
    """A JSONL feed of `n` listings of `source`, each with a photo file of its own (or none)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        row = {
            "source": source,
            "source_id": f"{source}-{i}",
            "title": f"Giày chạy bộ {source} số {i}",
            "brand": "Faultbrand",
            "category": "sports shoes",
            "price": 100_000 + i,
        }
        if photos:
            photo = folder / f"{source}-{i}.jpg"
            photo.write_bytes(noise_jpeg(zlib.crc32(f"{source}:{i}".encode())))
            row["image"] = str(photo)
        rows.append(row)
    return write_jsonl_feed(folder, rows)


class RedisServer:
    """A private `redis-server` with an append-only file, as the compose stack runs it, so a
    restart keeps the queues (fsync on every write: a SIGKILL loses nothing either)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no"]
        log = (self.folder / "redis.log").open("ab")
        self.proc = subprocess.Popen(["redis-server", *args], stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_timeout=1)

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, (self.folder / "redis.log").read_text()
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(up, "redis-server to answer", timeout=20)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: a clean shutdown (what `docker compose restart redis` does); SIGKILL: a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


# Celery's log line at the end of every task: succeeded, failed, or retried.
_TASK_END = re.compile(r"Task clipshoe\.[\w.]+\[[\w-]+\] (?:succeeded|raised|retry)")


class WorkerProcess:
    """A Celery worker in a process group of its own: `clipshoe worker` (a main process and its
    prefork pool), or any `celery worker` command line."""

    def __init__(self, env: dict[str, str], log: Path, command: list[str]) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                command,
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill it whole, nothing else
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def children(self) -> list[int]:
        """Pool processes (prefork): the ones that run tasks."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid:  # field 4 of stat: the parent pid
                found.append(int(stat.parent.name))
        return found

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the main process and its pool at once: no warm shutdown, no message
        handed back to the broker (a node lost, an OOM kill of the container)."""
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM): finish the task in hand, then exit; SIGKILL if it hangs."""
        if not self.alive():
            return
        os.killpg(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()

    def tasks_ended(self) -> int:
        """Tasks this worker has finished, one way or another (from its log)."""
        return len(_TASK_END.findall(self.log.read_text(errors="replace")))

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


class ApiProcess:
    """`clipshoe serve` on a free port, in a process group of its own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log, self.port = log, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "clipshoe.cli", "serve", "--port", str(self.port)],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_serving(self, timeout: float = 240) -> None:
        """Until it answers HTTP at all (its /healthz may well be a 503 in a fault test)."""

        def answers() -> bool:
            assert self.proc.poll() is None, self.tail()
            try:
                httpx.get(f"{self.url}/healthz", timeout=5)
                return True
            except httpx.TransportError:
                return False

        wait_until(answers, "the API to answer", timeout=timeout, every=0.25)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def _admin(sql: str) -> None:
    """CREATE / DROP DATABASE: outside a transaction, through the session's database."""
    engine = make_engine(os.environ["CLIPSHOE_DATABASE__URL"])
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


@dataclass
class FaultStack:
    root: Path
    database: str
    redis: RedisServer
    settings: Settings
    rt: Runtime

    # -- processes --------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a worker or CLI of this stack (no CLIPSHOE_* of the session's)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPSHOE_")}
        s = self.settings
        env |= {
            "CLIPSHOE_DATA_DIR": str(s.data_dir),
            "CLIPSHOE_DATABASE__URL": s.database_url,
            "CLIPSHOE_BROKER__URL": self.redis.url,
            "CLIPSHOE_QDRANT__PATH": str(s.qdrant_path),
            "CLIPSHOE_ENCODER__DEVICE": "cpu",
            "CLIPSHOE_INGEST__BATCH_SIZE": str(s.ingest.batch_size),
            "CLIPSHOE_INGEST__MAX_QUEUED_BATCHES": str(s.ingest.max_queued_batches),
            "CLIPSHOE_INGEST__FEED_ROOTS": json.dumps([str(r) for r in s.feed_roots]),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        env.setdefault("GLIBC_TUNABLES", GLIBC_TUNABLES)
        return env | extra

    def worker(self, *args: str, **env: str) -> WorkerProcess:
        """`clipshoe worker ARGS`, as deployed (prefork by default; `--pool threads` runs 2 tasks at
        once in one process instead of one task in a child process)."""
        command = [sys.executable, "-m", "clipshoe.cli", "worker", *args]
        n = len(list(self.root.glob("worker-*.log")))
        return WorkerProcess(self.env(**env), self.root / f"worker-{n}.log", command)

    @contextmanager
    def api(self, embedded: bool = False, **env: str) -> Iterator[ApiProcess]:
        """The API of this stack, serving once it answers. `embedded`: no broker, so it runs ingest
        jobs in its own process (and needs no worker beside it for the embedded store)."""
        environment = self.env(**env)
        if embedded:
            del environment["CLIPSHOE_BROKER__URL"]
        n = len(list(self.root.glob("api-*.log")))
        api = ApiProcess(environment, self.root / f"api-{n}.log")
        try:
            api.wait_serving()
            yield api
        finally:
            api.stop()

    # -- jobs -------------------------------------------------------------------------------

    def submit(self, feed: Path) -> int:
        """Create a job row and queue its feed task on this stack's broker, as the API does."""
        with self.rt.sessions.begin() as s:
            job = repository.create_job(s, str(feed.resolve()), None, None)
        app = create_celery(self.settings)
        try:
            app.send_task("clipshoe.ingest.feed", (job.id,), queue=queue_for("ingest", "bulk"))
        finally:
            app.close()
        return job.id

    def job(self, job_id: int) -> IngestJob:
        with self.rt.sessions() as s:
            job = repository.get_job(s, job_id)
            assert job is not None
            s.expunge(job)
            return job

    def wait_job(self, job_id: int, *workers: WorkerProcess, timeout: float = 240) -> IngestJob:
        """The job once it is over; fails early, with the workers' logs, if all of them died."""

        def over() -> IngestJob | None:
            if workers and not any(w.alive() for w in workers):
                raise AssertionError("every worker died:\n" + "\n".join(w.tail() for w in workers))
            job = self.job(job_id)
            return job if job.status in (JobStatus.completed, JobStatus.failed) else None

        try:
            return wait_until(over, f"job {job_id} to finish", timeout=timeout, every=0.25)  # type: ignore[return-value]
        except AssertionError as exc:
            logs = "\n".join(w.tail() for w in workers)
            raise AssertionError(f"{exc}: {self.job(job_id).__dict__}\n{logs}") from None

    # -- what is stored ---------------------------------------------------------------------

    def products(self, source: str) -> list[Product]:
        with self.rt.sessions() as s:
            rows = list(s.scalars(select(Product).where(Product.source == source)))
            s.expunge_all()
            return rows

    def product_count(self) -> int:
        with self.rt.sessions() as s:
            return s.scalar(select(func.count()).select_from(Product)) or 0

    def point_ids(self) -> list[str]:
        """Every point in the live collection, as a list (a duplicate would show twice). Only
        once no worker holds the embedded store."""
        index = self.rt.index
        try:
            return list(index.scroll_ids(self.settings.qdrant.alias))
        finally:
            self.rt.close()

    def terminate_backends(self, conn: Connection | None = None) -> int:
        """Drop every connection to this stack's database but the one asking, `conn` if given (an
        admin's pg_terminate_backend, a failover, a restarted PgBouncer); return how many."""
        sql = text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        if conn is not None:
            return len(conn.execute(sql).all())
        engine = make_engine(self.settings.database_url)
        try:
            with engine.connect() as own:
                return len(own.execute(sql).all())
        finally:
            engine.dispose()


def stack_settings(root: Path, database_url: str, broker_url: str, batch_size: int = 4) -> Settings:
    """Every group explicit: a group left out would be read from the session's CLIPSHOE_* env."""
    return Settings(
        data_dir=root / "data",
        database=DatabaseSettings(url=database_url),
        qdrant=QdrantSettings(path=root / "data" / "qdrant", backend="edge"),
        broker=BrokerSettings(url=broker_url),
        encoder=EncoderSettings(model="default", device="cpu"),
        # The tests' feeds are under root: the API reads feeds from its feed folders only.
        ingest=IngestSettings(batch_size=batch_size, max_queued_batches=2, feed_roots=[root]),
        api=ApiSettings(),
        _env_file=None,  # type: ignore[call-arg]
    )


@contextmanager
def fault_stack(root: Path, name: str, batch_size: int = 4) -> Iterator[FaultStack]:
    """A fresh stack: its database created and migrated, its Redis started; all of it removed
    afterwards, workers included."""
    database = f"clipshoe_faults_{name}_{os.getpid()}"
    _admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    _admin(f"CREATE DATABASE {database}")
    url = os.environ["CLIPSHOE_DATABASE__URL"].rsplit("/", 1)[0] + f"/{database}"
    server = RedisServer(root / "redis")
    server.start()
    settings = stack_settings(root, url, server.url, batch_size)
    rt = Runtime(settings)
    try:
        migrate(settings)
        yield FaultStack(root, database, server, settings, rt)
    finally:
        rt.close()
        server.stop(signal.SIGKILL)
        get_engine(settings).dispose()
        _admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def blocked_queries(stack: FaultStack) -> list[tuple[int, str]]:
    """(backend pid, query) of this stack's connections waiting on a row lock."""
    with get_engine(stack.settings).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        ).all()
    return [(r.pid, r.query) for r in rows]


@contextmanager
def holding_job_row(stack: FaultStack, job_id: int) -> Iterator[Connection]:
    """Lock the job's row: a worker stalls at its next write to it, inside the task in hand."""
    with get_engine(stack.settings).connect() as conn:
        conn.execute(text("SELECT id FROM ingest_jobs WHERE id = :id FOR UPDATE"), {"id": job_id})
        try:
            yield conn
        finally:
            conn.rollback()


# Statements of a worker on the job's row (catalog/repository.py), to stall it at a known point:
# the UPDATE that closes a batch's transaction (add_job_progress; the batch's points are upserted,
# its rows not yet committed), and the one that claims the next chunk of the feed (advance_read;
# the chunk's products are written, and committing it hands their batches to the broker).
CLOSING_A_BATCH = "batches_done=(ingest_jobs.batches_done"
READING_THE_FEED = "SET read="


@contextmanager
def stalled_on(stack: FaultStack, job_id: int, statement: str) -> Iterator[Connection]:
    """Hold a worker at its next `statement` on the job's row, inside the task in hand. No sleeps:
    the worker waits on a row lock the test holds, and the test waits until Postgres says it does;
    a worker that stops at another statement first is let go and caught again."""
    for _ in range(50):
        with holding_job_row(stack, job_id) as conn:
            blocked = wait_until(lambda: blocked_queries(stack), "a worker to wait on the job row")
            if any(statement in query for _, query in blocked):  # type: ignore[attr-defined]
                yield conn
                return
    raise AssertionError(f"never caught a worker at {statement!r}")


@contextmanager
def stalled_together(stack: FaultStack, job_ids: list[int], statement: str) -> Iterator[None]:
    """Hold the tasks of several jobs, each at its next `statement` on its job's row, and let them
    all go at once on exit: whatever they do next, they do at the same time."""
    engine = get_engine(stack.settings)
    lockers = {job_id: engine.connect() for job_id in job_ids}
    held: set[int] = set()  # the rows the test holds now

    def lock(job_id: int) -> None:
        """Take the row (again). Bounded: a task let go may be a transaction away from letting it be."""
        conn = lockers[job_id]
        try:
            conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            conn.execute(text("SELECT id FROM ingest_jobs WHERE id = :id FOR UPDATE"), {"id": job_id})
            held.add(job_id)
        except OperationalError:
            conn.rollback()  # not this time round: the loop tries again

    try:
        for job_id in job_ids:
            lock(job_id)
        locker_of = {lockers[j].execute(text("SELECT pg_backend_pid()")).scalar_one(): j for j in job_ids}
        sql = text(
            "SELECT query, pg_blocking_pids(pid) AS by FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                rows = conn.execute(sql).all()
            waiting = [(r.query, [locker_of[b] for b in r.by if b in locker_of]) for r in rows]
            at_statement = {jobs[0] for query, jobs in waiting if jobs and statement in query}
            if at_statement == set(job_ids):
                yield
                return
            for query, jobs in waiting:
                if jobs and statement not in query:  # stopped short of it: let it on, catch it again
                    lockers[jobs[0]].rollback()
                    held.discard(jobs[0])
            for job_id in set(job_ids) - held:
                lock(job_id)
            time.sleep(0.02)
        raise AssertionError(f"never held every job at {statement!r}")
    finally:
        for conn in lockers.values():
            conn.rollback()
            conn.close()


@contextmanager
def stalled_mid_batch(
    stack: FaultStack, job_id: int, after_batches: int = 2
) -> Iterator[tuple[list[int], Connection]]:
    """Once `after_batches` batches are done, hold a worker inside the next one, between its index
    upsert and its commit; yield the ids of the batches running then (a thread pool may be in two:
    neither can commit while the job's row is held) and the connection holding it."""
    wait_until(
        lambda: (j := stack.job(job_id)).batches_done >= after_batches and j.feed_read_at,
        f"{after_batches} batches of job {job_id} to be done",
    )
    with stalled_on(stack, job_id, CLOSING_A_BATCH) as conn:
        job = stack.job(job_id)
        assert job.batches_done < job.batches_total, "every batch was done before the fault"
        with stack.rt.sessions() as s:
            running = [b.id for b in repository.job_batches(s, job_id) if b.status == "running"]
        assert running, "no batch running"
        yield running, conn


# -- what every fault test expects in the end --------------------------------------------------


def assert_completed(stack: FaultStack, job_id: int, n: int) -> None:
    """The job completed with each of its `n` new listings indexed once and nothing failed."""
    job = stack.job(job_id)
    assert job.status == JobStatus.completed, job.message
    assert (job.total, job.indexed, job.failed) == (n, n, 0)
    assert job.batches_done == job.batches_total  # each batch counted once, redelivered or not


def assert_stored_once(stack: FaultStack, source: str, n: int) -> None:
    """One row and one point per listing of `source`, every row with its vectors (once no worker
    holds the embedded store)."""
    products = stack.products(source)
    assert sorted(p.source_id for p in products) == sorted(f"{source}-{i}" for i in range(n))
    assert all(p.embedded_model for p in products), "a product was left without vectors"
    points = stack.point_ids()
    assert len(points) == len(set(points)) == n
    assert set(points) == {p.point_id for p in products}


# -- the API under a fault ------------------------------------------------------------------------


def api_requests(product_id: int, job_id: int, photo: bytes) -> list[tuple[str, str, dict]]:
    """One of each kind of request the API serves: (method, path, httpx keyword arguments)."""
    return [
        ("GET", "/search", {"params": {"q": "giày chạy bộ", "price_max": 200_000}}),
        ("GET", "/search", {"params": {"q": "running shoes", "mode": "lexical"}}),
        ("GET", "/search/facets", {"params": {"q": "giày"}}),
        ("POST", "/search/image", {"files": {"file": ("shoe.jpg", photo, "image/jpeg")}}),
        ("GET", f"/products/{product_id}", {}),
        ("GET", f"/products/{product_id}/similar", {}),
        ("GET", "/products/recommend", {"params": {"positive": product_id}}),
        ("GET", f"/ingest/jobs/{job_id}", {}),
        ("GET", "/ingest/jobs", {}),
        ("GET", "/healthz", {}),
    ]


def assert_answers_or_503(response: httpx.Response) -> None:
    """A fault may make the API unavailable, never broken: 200, or 503 with a message."""
    where = f"{response.request.method} {response.request.url}"
    assert response.status_code in (200, 503), f"{where}: {response.status_code} {response.text}"
    if response.status_code == 503:
        detail = response.json()["detail"]
        assert isinstance(detail, str) and detail, response.text
