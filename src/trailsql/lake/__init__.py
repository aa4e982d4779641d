"""The workspace's Parquet lake: incremental, exactly-once ingestion of CloudTrail logs."""
