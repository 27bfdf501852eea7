"""Quick encoder-only scores on one split of a manifest: the targets the training recipe is tuned on.

Not the official `clipshoe eval` (that runs the search stack); this scores embeddings directly,
gallery = the split's photos, with the contract's metric definitions:

* ``title``: listing title → its own photo (acc@k, mrr@10)
* ``attr_en`` / ``attr_vi`` / ``attr_vi_folded``: "type + colour + gender" queries phrased
  unlike the training templates; relevant = every product of the split with those three values
* ``photo``: photo → other photos of the same type and colour (p@10; the query itself excluded)

    python -m encoder.training.quick_eval --model default --manifest var/data/myntra --split test
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from encoder.training.dataset import read_manifest
from encoder.training.metrics import rank, retrieval_metrics
from encoder.training.prompts import vietnamese
from ingest.normalise import fold_diacritics

_GENDER_EN = {"men": "men", "women": "women", "unisex": "unisex", "boys": "boys", "girls": "girls"}
# Held-out phrasings: none is a training template, so the scores show generalisation.
ATTR_EN = ("{colour} {gender} {category}", "{category} for {gender} in {colour} colour")
ATTR_VI = ("{category} màu {colour} dành cho {gender}", "{category} {gender} {colour}")

TextEmbed = Callable[[Sequence[str]], np.ndarray]


def attribute_queries(rows: Sequence[dict[str, Any]]) -> dict[str, list[tuple[str, np.ndarray]]]:
    """(text, relevant mask) per language variant for every type/colour/gender combination present."""
    keys = [(r.get("category"), r.get("colour"), r.get("gender")) for r in rows]
    out: dict[str, list[tuple[str, np.ndarray]]] = {"attr_en": [], "attr_vi": [], "attr_vi_folded": []}
    for key in sorted({k for k in keys if all(k)}):
        category, colour, gender = key
        relevant = np.array([k == key for k in keys])
        for template in ATTR_EN:
            text = template.format(colour=colour, gender=_GENDER_EN[gender], category=category)
            out["attr_en"].append((text, relevant))
        names = [vietnamese(f, v) for f, v in zip(("category", "colour", "gender"), key, strict=True)]
        if all(names):
            for template in ATTR_VI:
                text = template.format(category=names[0], colour=names[1], gender=names[2])
                out["attr_vi"].append((text, relevant))
                out["attr_vi_folded"].append((fold_diacritics(text), relevant))
    return out


def score(rows: Sequence[dict[str, Any]], images: np.ndarray, embed_texts: TextEmbed) -> dict[str, Any]:
    """All quick scores given the split's photo embeddings (unit rows, in ``rows`` order)."""
    n = len(rows)
    results: dict[str, Any] = {}
    titles = embed_texts([r["title"] for r in rows])
    results["title"] = retrieval_metrics(rank(titles, images), np.eye(n, dtype=bool))
    for name, queries in attribute_queries(rows).items():
        if queries:
            emb = embed_texts([text for text, _ in queries])
            results[name] = retrieval_metrics(rank(emb, images), np.stack([rel for _, rel in queries]))
    keys = np.array([f"{r.get('category')}|{r.get('colour')}" for r in rows])
    same = keys[:, None] == keys[None, :]
    itself = np.eye(n, dtype=bool)
    results["photo"] = retrieval_metrics(rank(images, images, exclude=itself), same & ~itself)
    return results


def headline(results: dict[str, Any]) -> dict[str, float]:
    """The figures the targets name."""
    out = {
        "title_acc@10": results["title"]["acc@10"],
        "title_mrr@10": results["title"]["mrr@10"],
        "photo_p@10": results["photo"]["p@10"],
    }
    for name in ("attr_en", "attr_vi", "attr_vi_folded"):
        if name in results:
            out[f"{name}_ndcg@10"] = results[name]["ndcg@10"]
    return {k: round(v, 4) for k, v in out.items()}


def evaluate_encoder(encoder: Any, manifest: Path, split: str = "test") -> dict[str, Any]:
    """Embed the split's photos and queries with a real encoder (the serving path) and score."""
    rows = [r for r in read_manifest(manifest) if r["split"] == split]
    photos = []
    for row in rows:
        with Image.open(row["image"]) as image:
            photos.append(image.convert("RGB"))
    images = encoder.encode_images(photos, batch_size=64)
    results = score(rows, images, lambda texts: encoder.encode_texts(list(texts), batch_size=128))
    return {"split": split, "products": len(rows), "headline": headline(results), "details": results}


def main() -> None:
    from encoder.registry import create_encoder

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--split", default="val", choices=("train", "val", "test"))
    args = parser.parse_args()
    report = evaluate_encoder(create_encoder(args.model, device="cpu"), args.manifest, args.split)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
