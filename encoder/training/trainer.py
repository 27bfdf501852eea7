"""Contrastive fine-tuning of `TowerEncoder` on a dataset manifest (see `dataset.py`).

Symmetric InfoNCE with CLIP's learnable temperature. Each step takes a batch of products
(``batches.py`` decides which share one), one sampled caption and one cached view each;
attribute captions ("black heels for women") count every in-batch product with those
attributes as a positive, so identical captions are not pushed apart (``same_text_positive``
extends that to any caption two products share, titles included). Optional extra terms: a
photo ↔ photo loss (same type and colour attract) and a brand classifier on the photo
embedding (training only). Validation (val split, gallery = val photos) runs every epoch; the
best val mrr@10 is kept and training stops after ``patience`` epochs without a gain (``fit_val``,
the final retrain on train + val, has no validation and keeps the last epoch). State is
saved at each epoch end, and every random draw is seeded by (seed, epoch), so ``resume``
continues exactly where an uninterrupted run would be.
"""

from __future__ import annotations

import logging
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from encoder.training.batches import epoch_batches
from encoder.training.config import TrainConfig
from encoder.training.dataset import read_manifest
from encoder.training.metrics import rank, retrieval_metrics
from encoder.training.setup import TrainingModel, build_model

log = logging.getLogger(__name__)
STATE_FILE = "last.pt"


def contrastive_loss(
    image: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor, positives: torch.Tensor
) -> torch.Tensor:
    """Symmetric InfoNCE; ``positives[i, j]``: caption i describes product j (diagonal always)."""
    image, text = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
    logits = logit_scale.clamp(max=math.log(100)).exp() * text @ image.T
    targets = positives.float()
    t2i = -(targets / targets.sum(1, keepdim=True) * logits.log_softmax(1)).sum(1).mean()
    i2t = -(targets.T / targets.T.sum(1, keepdim=True) * logits.T.log_softmax(1)).sum(1).mean()
    return (t2i + i2t) / 2


def image_pair_loss(image: torch.Tensor, logit_scale: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """Photo ↔ photo supervised contrastive loss: photos of the same type and colour attract.

    ``same[i, j]``: products i and j share the attributes (diagonal ignored). Photo search
    ranks photos by this similarity, which the caption loss alone shapes only indirectly.
    """
    image = F.normalize(image, dim=-1)
    n = image.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=image.device)
    logits = (logit_scale.clamp(max=math.log(100)).exp() * image @ image.T).masked_fill(eye, -1e4)
    targets = (same & ~eye).float()
    has = targets.sum(1) > 0
    if not has.any():
        return image.sum() * 0.0
    log_probs = logits.log_softmax(1)
    per_row = -(targets / targets.sum(1, keepdim=True).clamp(min=1) * log_probs).sum(1)
    return per_row[has].mean()


def same_attributes(rows: list[dict], keys: tuple[str, ...] = ("category", "colour")) -> torch.Tensor:
    labels = [tuple(row.get(k) for k in keys) for row in rows]
    known = [all(v for v in label) for label in labels]
    n = len(rows)
    return torch.tensor(
        [[known[i] and labels[i] == labels[j] for j in range(n)] for i in range(n)], dtype=torch.bool
    )


def positives_for(
    captions: list[dict], rows: list[dict], multi: bool, same_text: bool = False
) -> torch.Tensor:
    """``[i, j]``: caption i (of product i) describes product j; the diagonal always."""
    n = len(rows)
    mask = torch.eye(n, dtype=torch.bool)
    if same_text:
        texts = [{c["text"].casefold() for c in row["captions"]} for row in rows]
        for i, caption in enumerate(captions):
            text = caption["text"].casefold()
            for j in range(n):
                if text in texts[j]:
                    mask[i, j] = True
    if multi:
        for i, caption in enumerate(captions):
            match = caption.get("match") or {}
            if match:
                for j, row in enumerate(rows):
                    if all(row.get(k) == v for k, v in match.items()):
                        mask[i, j] = True
    return mask


def caption_weight(caption: dict, title: str, config: TrainConfig) -> float:
    if caption.get("kind") == "description":
        return config.description_weight
    return config.title_weight if title in caption["text"] else 1.0


def sample_captions(rows: list[dict], rng: random.Random, config: TrainConfig) -> list[dict]:
    picked = []
    for row in rows:
        weights = [caption_weight(c, row["title"], config) for c in row["captions"]]
        picked.append(rng.choices(row["captions"], weights)[0])
    return picked


def drop_descriptions(rows: list[dict]) -> list[dict]:
    """Rows without their description captions: a run that never draws them does not cache them."""
    return [{**r, "captions": [c for c in r["captions"] if c.get("kind") != "description"]} for r in rows]


@torch.no_grad()
def validate(model: TrainingModel, rows: list[dict], acts: torch.Tensor) -> dict[str, float]:
    """Title → photo on the val split, gallery = val photos (the plain cached view)."""
    model.eval()
    images = torch.cat([model.image_embed(acts[i : i + 256, 0]) for i in range(0, len(rows), 256)])
    texts = model.encoder.encode_texts([r["title"] for r in rows], batch_size=256)
    images_np = F.normalize(images.float(), dim=-1).cpu().numpy()
    return retrieval_metrics(rank(texts, images_np), np.eye(len(rows), dtype=bool))


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def train(
    config: TrainConfig, manifest: Path, out: Path, resume: bool = False, command: str = ""
) -> dict[str, Any]:
    """Train, write the best checkpoint to ``out``, return the training summary."""
    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    rows = list(read_manifest(manifest))
    if not config.description_weight:
        rows = drop_descriptions(rows)
    fit_splits = ("train", "val") if config.fit_val else ("train",)
    train_rows = [r for r in rows if r["split"] in fit_splits]
    val_rows = [] if config.fit_val else [r for r in rows if r["split"] == "val"]
    model = build_model(config, train_rows, val_rows)
    run_dir = Path(config.run_dir or f"var/runs/{config.name}")
    steps_per_epoch = math.ceil(len(train_rows) / (config.batch_size * config.accumulate))
    # The schedule ignores max_steps, so a run cut short by it and resumed matches a whole run.
    schedule_steps = steps_per_epoch * config.epochs
    total_steps = min(schedule_steps, config.max_steps) if config.max_steps else schedule_steps
    state: dict[str, Any] = {"epoch": 0, "step": 0, "best": -1.0, "best_state": None, "history": []}
    if resume and (run_dir / STATE_FILE).is_file():
        state = model.load_state(run_dir / STATE_FILE)
        log.info("resuming from %s at epoch %d, step %d", run_dir / STATE_FILE, state["epoch"], state["step"])
    if not state["history"] and val_rows:  # the untrained starting point, for comparison
        state["history"].append({"epoch": 0, "loss": None, **validate(model, val_rows, model.val_acts)})
    bad_epochs = state.get("bad_epochs", 0)
    seconds_before = state.get("seconds", 0.0)
    for epoch in range(state["epoch"], config.epochs):
        if state["step"] >= total_steps or bad_epochs >= config.patience:
            break
        rng = random.Random(f"{config.seed}:{epoch}")
        torch.manual_seed(config.seed * 1000 + epoch)  # dropout: same stream on resume
        batches = epoch_batches(train_rows, rng, config.batch_size, config.hard_batch_share)
        model.train()
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch")
        losses = []
        for n_micro, idx in enumerate(bar):
            if len(idx) < 2:
                continue
            batch_rows = [train_rows[i] for i in idx]
            captions = sample_captions(batch_rows, rng, config)
            views = torch.tensor([rng.randrange(model.train_acts.shape[1]) for _ in idx])
            acts = model.train_acts[torch.tensor(idx), views]
            with model.autocast():
                image = model.image_embed(acts)
                text = model.text_embed([c["text"] for c in captions])
                positives = positives_for(
                    captions, batch_rows, config.multi_positive, config.same_text_positive
                ).to(image.device)
                loss = contrastive_loss(image.float(), text.float(), model.encoder.logit_scale, positives)
                if config.image_loss_weight:
                    same = same_attributes(batch_rows).to(image.device)
                    pair = image_pair_loss(image.float(), model.encoder.logit_scale, same)
                    loss = loss + config.image_loss_weight * pair
                brand = model.brand_loss(image.float(), batch_rows)
                if brand is not None:
                    loss = loss + config.brand_loss_weight * brand
            (loss / config.accumulate).backward()
            losses.append(loss.item())
            if (n_micro + 1) % config.accumulate == 0 or n_micro + 1 == len(batches):
                model.step(_lr_factor(state["step"], schedule_steps, config.warmup_steps))
                state["step"] += 1
            bar.set_postfix(loss=f"{loss.item():.3f}", scale=f"{model.encoder.logit_scale.exp().item():.1f}")
            if state["step"] >= total_steps:
                break
        bar.close()
        scores = validate(model, val_rows, model.val_acts) if val_rows else {}
        score = scores.get("mrr@10", 0.0)
        state["history"].append({"epoch": epoch + 1, "loss": sum(losses) / max(1, len(losses)), **scores})
        log.info("epoch %d: loss %.4f val %s", epoch + 1, state["history"][-1]["loss"], scores)
        if not val_rows:
            pass  # nothing held out: no early stopping, the last epoch is the model
        elif score > state["best"]:
            state["best"], state["best_state"], bad_epochs = score, model.trainable_state(), 0
            state["best_scores"] = scores
        else:
            bad_epochs += 1
        state["epoch"], state["bad_epochs"] = epoch + 1, bad_epochs
        state["seconds"] = seconds_before + time.perf_counter() - started
        model.save_state(run_dir / STATE_FILE, state)
    if state["best_state"] is not None:
        model.load_trainable_state(state["best_state"])
    summary = {
        "recipe": config.to_dict(),
        "seed": config.seed,
        "data": {
            "manifest": str(Path(manifest).resolve()),
            "splits": list(fit_splits),
            "train": len(train_rows),
            "val": len(val_rows),
        },
        "val": state.get("best_scores", {}),
        "history": state["history"],
        "steps": state["step"],
        "train_seconds": round(seconds_before + time.perf_counter() - started, 1),
        "command": command,
    }
    dtype = getattr(torch, config.save_dtype)
    model.encoder.save(out, training=summary, dtype=None if dtype == torch.float32 else dtype)
    return summary
