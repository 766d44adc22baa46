"""Training glue shared by every domain: the `fit` helper and reproducible seeds."""
