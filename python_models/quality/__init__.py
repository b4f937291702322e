"""Data quality: declarative rules, quarantine, replay, great-expectations suites, outliers and
the data-quality scorecard. See docs/decisions/0003-data-quality.md."""
