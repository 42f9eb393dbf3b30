"""Shop standings read models (see issue: projections)."""
