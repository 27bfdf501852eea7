"""Cache the frozen lower MiniLM layers per caption; run only the unfrozen top per step.

Training captions are a fixed set (templates over catalogue fields), so the token states
below the first unfrozen layer never change. They are computed once (fp16, under ``var/``),
and each step runs only the top layers, the tower's pooling/normalisation and the head:
the same function as `TowerEncoder.text_features` (tested), a fraction of the cost.
With no unfrozen layer the cached value is the tower's sentence embedding itself.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from encoder.dual import TowerEncoder

log = logging.getLogger(__name__)
CACHE_BATCH = 256


class TextCache:
    """Per-text states below the unfrozen layers: ``states[i, :lengths[i]]``, ``index[text] = i``."""

    def __init__(self, encoder: TowerEncoder, n_layers: int, texts: Sequence[str], cache_dir: Path) -> None:
        self.encoder, self.n_layers = encoder, n_layers
        prepared = sorted(set(encoder.prepare_texts(texts)))
        self.index = {text: i for i, text in enumerate(prepared)}
        digest = hashlib.blake2b(digest_size=10)
        digest.update(f"text-v1:{n_layers}".encode())
        for text in prepared:
            digest.update(text.encode() + b"\0")
        path = Path(cache_dir) / f"text_{digest.hexdigest()}.pt"
        if path.is_file():
            payload = torch.load(path, weights_only=True)
        else:
            payload = self._compute(prepared)
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(payload, path)
            log.info("cached %d caption states %s at %s", len(prepared), tuple(payload["states"].shape), path)
        self.states, self.lengths = payload["states"], payload["lengths"]

    @property
    def bert(self) -> torch.nn.Module:
        return self.encoder.text_tower[0].auto_model

    @torch.inference_mode()
    def _compute(self, prepared: list[str]) -> dict[str, torch.Tensor]:
        tower = self.encoder.text_tower
        n_total = len(self.bert.encoder.layer)
        outs, lengths = [], []
        for start in tqdm(range(0, len(prepared), CACHE_BATCH), desc="caching captions", unit="batch"):
            batch = tower.preprocess(prepared[start : start + CACHE_BATCH])
            batch = {k: v.to(self.encoder.device) for k, v in batch.items() if isinstance(v, torch.Tensor)}
            mask = batch["attention_mask"]
            if self.n_layers == 0:
                outs.append(tower(dict(batch))["sentence_embedding"].to("cpu", torch.float16))
                lengths.append(torch.ones(len(mask), dtype=torch.int64))
                continue
            hidden = self.bert(
                input_ids=batch["input_ids"],
                attention_mask=mask,
                token_type_ids=batch.get("token_type_ids"),
                output_hidden_states=True,
            ).hidden_states[n_total - self.n_layers]
            outs.append(hidden.to("cpu", torch.float16))
            lengths.append(mask.sum(1).cpu())
        if self.n_layers == 0:
            return {"states": torch.cat(outs), "lengths": torch.cat(lengths)}
        width = max(o.shape[1] for o in outs)
        states = torch.zeros(len(prepared), width, outs[0].shape[2], dtype=torch.float16)
        row = 0
        for out in outs:
            states[row : row + len(out), : out.shape[1]] = out
            row += len(out)
        return {"states": states, "lengths": torch.cat(lengths)}

    def __contains__(self, text: str) -> bool:
        return text in self.index

    def features(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts (each in the cache) → (n, dim) projected, unnormalised features, with grad."""
        device = self.encoder.device
        idx = torch.tensor([self.index[t] for t in self.encoder.prepare_texts(texts)])
        if self.n_layers == 0:
            return self.encoder.text_head(self.states[idx].to(device, torch.float32))
        lengths = self.lengths[idx]
        width = int(lengths.max())
        hidden = self.states[idx, :width].to(device, torch.float32)
        mask = (torch.arange(width)[None, :] < lengths[:, None]).to(device, torch.int64)
        bert = self.bert
        layers = list(bert.encoder.layer)[len(bert.encoder.layer) - self.n_layers :]
        extended, _ = bert._create_attention_masks(
            attention_mask=mask,
            encoder_attention_mask=None,
            embedding_output=hidden,
            encoder_hidden_states=None,
            cache=None,
            position_ids=None,
        )
        for layer in layers:
            out = layer(hidden, attention_mask=extended)
            hidden = out[0] if isinstance(out, tuple) else out
        features = {"token_embeddings": hidden, "attention_mask": mask}
        tower = self.encoder.text_tower
        for module in list(tower)[1:]:  # pooling (+ normalisation), as the tower does
            features = module(features)
        return self.encoder.text_head(features["sentence_embedding"])
