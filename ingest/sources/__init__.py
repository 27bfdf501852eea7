"""Feed readers beyond the Myntra and JSONL formats; `ingest.feeds.read_feed` dispatches to them.

- `csv_feed` — ClipShoe's generic CSV: the JSONL feed's fields as columns
- `image_folder` — a folder of photos, each with a sidecar `.txt` or `.json` describing it
- `zappos` — the UT Zappos50K data set's folder layout and `meta-data.csv`

Formats and field mappings: ingest/FEEDS.md.
"""
