"""asyncoded's benchmark, in parts (see bench/bench.py and bench/README.md)."""
