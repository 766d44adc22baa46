"""Evaluation metrics (NumPy): regression, classification, ranking, and per-slice reports.

    from common.metrics import regression, classification, ranking, slices

These run on predictions collected from a model (`model.predict`), not inside
the graph, so plain NumPy keeps them exact, easy to check by hand and free of
framework state. Every function validates its inputs and says what was wrong.
"""
