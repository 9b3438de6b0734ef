"""Frozen-backbone sentence embeddings (mean pooled, normalised)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=2)
def _encoder(base: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(base, device="cpu")


def embed(texts: list[str], base: str | None = None, batch_size: int = 64):
    from model.backbone import minilm_dir

    return _encoder(base or str(minilm_dir())).encode(list(texts), batch_size=batch_size,
                                                      normalize_embeddings=True, show_progress_bar=False)
