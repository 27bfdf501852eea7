"""Ingest: product feeds → normalised `ProductRecord`s, and product photos → validated, stored JPEGs.

No web, queue or database imports here: `workers/` and `api/` call these functions.

- `ingest.feeds.read_feed` — Myntra styles.csv, JSONL and CSV feeds, photo folders with sidecars,
  UT Zappos50K (readers in `ingest.sources`; formats: ingest/FEEDS.md)
- `ingest.normalise` — brand, gender, colour, category, price, Vietnamese folding (tables in `ingest.vocab`)
- `ingest.images` — `validate_image`, `store_image`, `load_stored`, perceptual hashes
- `ingest.image_fetch` — bounded photo downloads; `ingest.photos` — `PhotoStore`: fetch, validate,
  store and de-duplicate a feed's photos (its registry of photos is passed in by the caller)
- `ingest.sample` — a generated catalogue in the Myntra layout for demos and tests
- `ingest.report` — `python -m ingest.report PATH --images`: a feed's summary before loading
"""
