"""Reporting assets: the static HTML dashboard, written after everything it draws."""
