"""Sharing results others can check (SPEC §8): submission bundles, validation, a static leaderboard, HF export.

Everything here consumes result tables and never changes how a metric is computed; the pieces meet only
in files: ``NAME.zip`` (a bundle), ``NAME.validation.json`` (what ``validate`` found), the site and the
dataset folder.
"""
