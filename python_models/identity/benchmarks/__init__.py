"""Benchmarks of the matcher against FEBRL ground truth and Splink (commands, not tests)."""
