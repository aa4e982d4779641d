"""Finding log files: local folders (and, later, S3), CloudTrail's folder layout."""
