"""Synthetic daily deliveries that follow the landing contract (see `landing.py`)."""

from tools.generate.landing import GenerateSummary, generate_landing

__all__ = ["GenerateSummary", "generate_landing"]
