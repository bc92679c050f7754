"""Detectors that learn from examples (scikit-learn) beside the pure rules in bot.domain."""
