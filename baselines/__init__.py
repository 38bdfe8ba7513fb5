"""Reference methods, one folder each (adapter.py, config.yaml, README.md).

Adapters are registered lazily by name in :data:`jtbench.methods.base.METHODS`, so importing
this package costs nothing; each adapter imports diffusers only when it trains or samples.
"""
