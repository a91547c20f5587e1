"""Controllers: baselines, and (later) the shielded runtime."""
