"""Activation assets: audience exports (files + exports.* tables) and holdout results."""
