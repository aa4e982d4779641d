"""Athena SQL to an executable plan: parse, prune partitions, Trino rewrites, transpile."""
