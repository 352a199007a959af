"""Benchmarks of git kosli against plain git on synthetic repositories (`make bench`)."""
