"""curator: clean, deduplicated, leakage-free fine-tuning data, and proof that it trains."""

__version__ = "0.1.0"
