"""Datasets: the embedded synthetic data and the ingest of real data."""
