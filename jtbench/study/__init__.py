"""A blinded human-rating study of scored videos: plan, blinded media, rating page, safe storage, export
(``jtbench study``; contracts in SPEC §7). Meets ``jtbench.metaeval`` only in ``ratings.parquet``."""
