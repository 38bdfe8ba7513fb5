"""Running the benchmark: the planner (jobs), the artifact store, and the local and Ray executors.

Nothing here imports Ray at import time; ``jtbench.execution.ray_backend`` does, when used.
"""
