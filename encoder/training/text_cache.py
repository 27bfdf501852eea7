"""Cache the frozen lower MiniLM layers per caption; run only the unfrozen top per step.

Training captions are a fixed set (templates over catalogue fields), so the token states
below the first unfrozen layer never change. They are computed once (fp16, under ``var/``),
and each step runs only the top layers, the tower's pooling/normalisation and the head:
the same function as `TowerEncoder.text_features` (tested), a fraction of the cost.
With no unfrozen layer the cached value is the tower's sentence embedding itself.

States are stored ragged (one row per token, offsets per text): a few long captions (product
descriptions) would otherwise pad every short one to their length, in memory and in compute.
For the same reason a batch runs its long texts through the layers apart from the short ones.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.nn.utils.rnn import pad_sequence
from tqdm import tqdm

from encoder.dual import TowerEncoder

log = logging.getLogger(__name__)
CACHE_BATCH = 256
SHORT_TOKENS = 64  # texts longer than this run as a sub-batch of their own (templates are far shorter)


class TextCache:
    """States below the unfrozen layers: text i's are ``tokens[offsets[i]:offsets[i + 1]]``."""

    def __init__(self, encoder: TowerEncoder, n_layers: int, texts: Sequence[str], cache_dir: Path) -> None:
        self.encoder, self.n_layers = encoder, n_layers
        prepared = sorted(set(encoder.prepare_texts(texts)))
        self.index = {text: i for i, text in enumerate(prepared)}
        digest = hashlib.blake2b(digest_size=10)
        digest.update(f"text-v2:{n_layers}".encode())
        for text in prepared:
            digest.update(text.encode() + b"\0")
        path = Path(cache_dir) / f"text_{digest.hexdigest()}.pt"
        if path.is_file():
            payload = torch.load(path, weights_only=True)
        else:
            payload = self._compute(prepared)
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(payload, path)
            log.info("cached %d caption states %s at %s", len(prepared), tuple(payload["tokens"].shape), path)
        self.tokens, self.offsets = payload["tokens"], payload["offsets"]

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
        lengths_all = torch.cat(lengths)
        offsets = torch.zeros(len(prepared) + 1, dtype=torch.int64)
        offsets[1:] = lengths_all.cumsum(0)
        if self.n_layers == 0:
            return {"tokens": torch.cat(outs), "offsets": offsets}
        rows = [
            out[i, : int(n)]
            for out, n_batch in zip(outs, lengths, strict=True)
            for i, n in enumerate(n_batch)
        ]
        return {"tokens": torch.cat(rows), "offsets": offsets}

    def __contains__(self, text: str) -> bool:
        return text in self.index

    def features(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts (each in the cache) → (n, dim) projected, unnormalised features, with grad."""
        idx = torch.tensor([self.index[t] for t in self.encoder.prepare_texts(texts)])
        if self.n_layers == 0:
            return self.encoder.text_head(
                self.tokens[self.offsets[idx]].to(self.encoder.device, torch.float32)
            )
        long = (self.offsets[idx + 1] - self.offsets[idx]) > SHORT_TOKENS
        if not long.any() or long.all():
            return self._top(idx)
        order = torch.cat([torch.nonzero(~long)[:, 0], torch.nonzero(long)[:, 0]])
        features = torch.cat([self._top(idx[~long]), self._top(idx[long])])
        return features[torch.argsort(order)]

    def _top(self, idx: torch.Tensor) -> torch.Tensor:
        """The unfrozen layers, pooling and head over cached texts ``idx``, padded to the longest."""
        device = self.encoder.device
        rows = [self.tokens[self.offsets[i] : self.offsets[i + 1]] for i in idx.tolist()]
        hidden = pad_sequence(rows, batch_first=True).to(device, torch.float32)  # zero padding
        lengths = torch.tensor([len(row) for row in rows])
        mask = (torch.arange(hidden.shape[1])[None, :] < lengths[:, None]).to(device, torch.int64)
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
