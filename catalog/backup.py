"""Backups of the catalogue (SQL), the vector store and the stored photos, and their restore.

A backup is a folder:
    manifest.json     what is inside, when, the schema revision, the alias and its collection
    catalogue.dump    Postgres, `pg_dump --format=custom`   | catalogue.sqlite: the embedded SQLite file
    vectors/          embedded store: a copy of its folder, taken under its lock (no writer runs)
    snapshots/        Qdrant server: one snapshot per collection (snapshots API), aliases in the manifest
    media/            stored photos (content-addressed: restoring over existing ones is harmless)

The catalogue alone is enough to rebuild every vector (`clipshoe reindex --from-db`); the vectors
and photos make a restore fast and exact. docs/ops-models.md has the commands.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.exc import SQLAlchemyError

from catalog.db import get_engine, migrate
from catalog.vector_index import open_index
from clipshoe.settings import Settings

MANIFEST = "manifest.json"
PG_DUMP, SQLITE_COPY = "catalogue.dump", "catalogue.sqlite"
VECTORS, SNAPSHOTS, MEDIA = "vectors", "snapshots", "media"
_OLD_SCHEMA = "clipshoe_before_restore"


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass
class Manifest:
    created_at: str
    database: str  # postgresql | sqlite
    vector_store: str | None  # embedded | server | None (not included)
    schema_revision: str | None
    alias: str
    alias_target: str | None
    collections: list[str] = field(default_factory=list)
    media: bool = False

    def write(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            return cls(**json.loads((folder / MANIFEST).read_text()))
        except FileNotFoundError as exc:
            raise BackupError(f"{folder} is not a ClipShoe backup (no {MANIFEST})") from exc


# -- the SQL catalogue ---------------------------------------------------------------------------


def _is_sqlite(settings: Settings) -> bool:
    return settings.database_url.startswith("sqlite")


def _sqlite_file(settings: Settings) -> Path:
    return Path(settings.database_url.split("///", 1)[1])


def _pg_target(settings: Settings) -> tuple[str, dict[str, str]]:
    """A libpq URI for pg_dump/pg_restore (no driver suffix) and the password kept out of argv."""
    url = make_url(settings.database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # e.g. "server version mismatch": pg_dump must be at least as new as the server.
        raise BackupError(f"{cmd[0]} failed: {done.stderr.strip() or done.stdout.strip()}")


def _schema_revision(settings: Settings) -> str | None:
    with get_engine(settings).connect() as conn:
        try:
            return conn.scalar(text("SELECT version_num FROM alembic_version"))
        except SQLAlchemyError:  # not migrated yet
            return None


def backup_sql(settings: Settings, folder: Path) -> None:
    if _is_sqlite(settings):
        # SQLite's online backup: a consistent copy even while the file is in use.
        with sqlite3.connect(_sqlite_file(settings)) as src, sqlite3.connect(folder / SQLITE_COPY) as dst:
            src.backup(dst)
        return
    uri, env = _pg_target(settings)
    _run(
        ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(folder / PG_DUMP), uri],
        env,
    )


def restore_sql(settings: Settings, folder: Path) -> None:
    """Replace the catalogue with the backup's, then migrate it to this release's schema."""
    get_engine(settings).dispose()  # pooled connections would see the old tables
    if _is_sqlite(settings):
        source = folder / SQLITE_COPY
        if not source.exists():
            raise BackupError(f"{folder} holds no SQLite catalogue ({SQLITE_COPY})")
        target = _sqlite_file(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
    else:
        _restore_postgres(settings, folder / PG_DUMP)
    get_engine(settings).dispose()
    migrate(settings)


def _restore_postgres(settings: Settings, dump: Path) -> None:
    """The current schema is set aside, not dropped, until the dump has loaded in full: a failed
    restore puts it back and loses nothing."""
    if not dump.exists():
        raise BackupError(f"{dump.parent} holds no Postgres catalogue ({PG_DUMP})")
    engine = get_engine(settings)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {_OLD_SCHEMA} CASCADE"))
        conn.execute(text(f"ALTER SCHEMA public RENAME TO {_OLD_SCHEMA}"))
        conn.execute(text("CREATE SCHEMA public"))
    uri, env = _pg_target(settings)
    try:
        _run(
            ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
             "--dbname", uri, str(dump)],
            env,
        )  # fmt: skip
    except BackupError:
        engine.dispose()
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text(f"ALTER SCHEMA {_OLD_SCHEMA} RENAME TO public"))
        raise
    engine.dispose()
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {_OLD_SCHEMA} CASCADE"))


# -- the vector store ------------------------------------------------------------------------------


@contextmanager
def store_lock(settings: Settings) -> Iterator[Path]:
    """Hold the embedded store's lock (both embedded engines flock `.lock`): no writer can run."""
    root = settings.qdrant_path
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise BackupError(
                f"the embedded store {root} is open in another process (`clipshoe serve`?): stop it "
                "first, or leave the vectors out (--no-vectors) and rebuild them with "
                "`clipshoe reindex --from-db`"
            ) from exc
        yield root


def _store_files(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.name != ".lock" and not p.name.endswith(".tmp")]


def _copy_sparse(src: str, dst: str) -> None:
    """Copy a file's data extents only. The engine preallocates its segment files sparsely (a
    5.7 MB store of 300 products has 490 MB of apparent size); a plain copy would fill the holes."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        size, fd, pos = os.fstat(fin.fileno()).st_size, fin.fileno(), 0
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            fin.seek(start)
            fout.seek(start)
            while start < end:
                chunk = fin.read(min(end - start, 1 << 20))
                fout.write(chunk)
                start += len(chunk)
            pos = end
        fout.truncate(size)
    shutil.copystat(src, dst)


def _copy_store(paths: list[Path], dest: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.copytree(path, dest / path.name, copy_function=_copy_sparse)
        else:
            _copy_sparse(str(path), str(dest / path.name))


def backup_vectors(settings: Settings, folder: Path) -> tuple[str, list[str], str | None]:
    """(kind, collections, alias target) after copying the store into the backup."""
    if settings.qdrant.url:
        return _snapshot_server(settings, folder)
    with store_lock(settings) as root:
        dest = folder / VECTORS
        dest.mkdir()
        _copy_store(_store_files(root), dest)
        aliases = _read_json(root / "aliases.json")
        collections = sorted(p.name for p in (dest / "collections").glob("*") if p.is_dir())
    return "embedded", collections, aliases.get(settings.qdrant.alias)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _snapshot_server(settings: Settings, folder: Path) -> tuple[str, list[str], str | None]:
    from catalog.index_qdrant import QdrantClientIndex

    index = open_index(settings)
    assert isinstance(index, QdrantClientIndex)
    try:
        dest = folder / SNAPSHOTS
        dest.mkdir()
        collections = index.list_collections()
        for name in collections:
            index.snapshot(name, dest)
        return "server", collections, index.resolve_alias(settings.qdrant.alias)
    finally:
        index.close()


def _check_vectors(settings: Settings, manifest: Manifest) -> None:
    rebuild = "restore with --no-vectors, then rebuild them with `clipshoe reindex --from-db`"
    if manifest.vector_store is None:
        raise BackupError(f"this backup holds no vectors: {rebuild}")
    here = "server" if settings.qdrant.url else "embedded"
    if manifest.vector_store != here:
        raise BackupError(
            f"this backup's vectors are from a {manifest.vector_store} store, not {here}: {rebuild}"
        )
    if here == "embedded":
        with store_lock(settings):  # fail before touching anything if a running server owns the store
            pass


def restore_vectors(settings: Settings, folder: Path, manifest: Manifest) -> None:
    if settings.qdrant.url:
        _restore_server(settings, folder, manifest)
        return
    with store_lock(settings) as root:
        for path in _store_files(root):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        _copy_store(list((folder / VECTORS).iterdir()), root)


def _restore_server(settings: Settings, folder: Path, manifest: Manifest) -> None:
    from catalog.index_qdrant import QdrantClientIndex

    index = open_index(settings)
    assert isinstance(index, QdrantClientIndex)
    try:
        for name in manifest.collections:
            index.restore_snapshot(name, folder / SNAPSHOTS / f"{name}.snapshot")
        if manifest.alias_target:
            index.set_alias(settings.qdrant.alias, manifest.alias_target)
    finally:
        index.close()


# -- whole backups -------------------------------------------------------------------------------


def backup(settings: Settings, dest: Path, *, vectors: bool = True, media: bool = True) -> Manifest:
    """Write a backup folder `dest` (which must not exist yet)."""
    if dest.exists():
        raise BackupError(f"{dest} already exists: choose a new folder per backup")
    dest.mkdir(parents=True)
    try:
        backup_sql(settings, dest)
        kind, collections, target = backup_vectors(settings, dest) if vectors else (None, [], None)
        if media and settings.media_dir.is_dir():
            shutil.copytree(settings.media_dir, dest / MEDIA)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # never leave a half backup that looks whole
        raise
    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        database="sqlite" if _is_sqlite(settings) else "postgresql",
        vector_store=kind,
        schema_revision=_schema_revision(settings),
        alias=settings.qdrant.alias,
        alias_target=target,
        collections=collections,
        media=(dest / MEDIA).is_dir(),
    )
    manifest.write(dest)
    return manifest


def restore(
    settings: Settings, source: Path, *, sql: bool = True, vectors: bool = True, media: bool = True
) -> Manifest:
    """Replace the catalogue and the vector store with a backup's; photos are added back."""
    manifest = Manifest.read(source)
    wanted = "sqlite" if _is_sqlite(settings) else "postgresql"
    if sql and manifest.database != wanted:
        raise BackupError(
            f"this backup's catalogue is {manifest.database}; the configured database is {wanted}"
        )
    if vectors:
        _check_vectors(settings, manifest)
    if sql:
        restore_sql(settings, source)
    if vectors:
        restore_vectors(settings, source, manifest)
    if media and manifest.media:
        shutil.copytree(source / MEDIA, settings.media_dir, dirs_exist_ok=True)
    return manifest
