"""Benchmarks: each one measures Vigil against a bare Litestar endpoint in the same run and
rewrites its own section of ``docs/performance.md``. Run them with ``python -m bench.<name>``."""
