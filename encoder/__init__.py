"""ClipShoe encoders: images and texts → one space of unit vectors.

Import-light on purpose (no web, queue or SQL dependency; torch loads models lazily).
"""

from encoder.base import Encoder
from encoder.registry import MODEL_ZOO, create_encoder, get_encoder

__all__ = ["MODEL_ZOO", "Encoder", "create_encoder", "get_encoder"]
