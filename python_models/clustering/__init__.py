"""K-Means micro-segments: features → scaled matrix → model → labels, rules and stable ids."""
