"""Benchmarks of gridflow: ``python -m bench [suite ...] [--smoke] [--json PATH]``.

Every figure is measured against a baseline taken in the same run (the machine is shared), runs
interleaved, medians reported. See docs/performance.md."""
