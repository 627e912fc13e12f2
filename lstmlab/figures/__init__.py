"""Drawings and interactive explorers for the book, built on the models and datasets (never the reverse)."""
