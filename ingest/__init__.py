"""Ingest: product feeds → normalised `ProductRecord`s, and product photos → validated, stored JPEGs.

No web, queue or database imports here: `workers/` and `api/` call these functions.

- `ingest.feeds.read_feed` — Myntra styles.csv and JSONL feeds (format: ingest/FEEDS.md)
- `ingest.normalise` — brand, gender, colour, category, price, Vietnamese folding (tables in `ingest.vocab`)
- `ingest.images` — `validate_image`, `store_image`, `load_stored`
- `ingest.sample` — a generated catalogue in the Myntra layout for demos and tests
- `ingest.report` — `python -m ingest.report PATH --images`: a feed's summary before loading
"""
