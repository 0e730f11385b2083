"""``vmf-bench``: latency of variants x backends x precisions x threads.

Modules, in the order a run uses them:
  ``jobs``       the options expanded into one job per row; the ``Tools`` a run uses
  ``artifacts``  each job's artifact: from the ``cache``, or exported by ``vmf.export``
  ``runner``     jobs -> artifacts -> timed rows (failures become rows too)
  ``measure``    load + time one artifact, in a fresh process per row by default
  ``timing``     the timing loops (back to back, and paced as a stream) and their statistics
  ``memory``     per-row peak RSS
  ``rows``       the row schema and its text/markdown/CSV/JSON renderings
  ``compare``    the ratios the performance goals are stated in
  ``plot``       latency against MACs
  ``report``     the ``--markdown`` section (docs/performance.md) (with ``machine``)
  ``x3d``, ``x3d_export``  X3D-S for the paper's Table 12 comparison
  ``reference``  the paper's Table 12 figures
``cli.main`` is the console script; nothing heavy is imported here.
"""
