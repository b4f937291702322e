"""Extract assets (landing files → raw), one multi-asset per source system."""
