"""The ``trailsql`` command: one module per command group, thin over the core."""
