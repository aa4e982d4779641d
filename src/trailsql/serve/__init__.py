"""``trailsql serve``: the Amazon Athena API on your machine.

Scripts, notebooks and tools that speak Athena's API (boto3, the AWS CLI, PyAthena,
awswrangler, Grafana's data source) point their endpoint here and run unchanged over the
workspace's tables. One port answers two protocols:

    POST /  X-Amz-Target: AmazonAthena.<Operation>   -> athena.py (AWS JSON 1.1)
    GET|HEAD /<bucket>/<key>, GET /<bucket>?list-type=2 -> s3.py (the result files, read-only)

Every request is signed with SigV4 by a key the server knows (sigv4.py, credentials.py).
A query is an :class:`~trailsql.serve.store.Execution` kept in the workspace (store.py),
run by a pool of sessions (runner.py) under the lockdown (:mod:`trailsql.sql.lockdown`),
its rows written as Athena's result files (results.py). app.py ties these to HTTP.
"""
