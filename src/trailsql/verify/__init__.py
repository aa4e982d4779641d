"""CloudTrail log file integrity validation: digest files, their signatures and chains.

``digests.py`` reads one digest file, builds the string CloudTrail signs and checks an RSA
signature with the public key the digest names; ``validate.py`` walks a copy of the logs (a
``store.py`` store: a local folder, or ``s3store.py``'s S3 prefix read through the S3 cache),
follows each trail's chain of digests backwards and hashes every log file they list;
``keys.py`` finds the public keys (a file, or ``ListPublicKeys`` kept in the workspace);
``run.py`` puts them together for ``trailsql verify`` and ``trailsql ingest --verify``.
"""

from __future__ import annotations

from trailsql.verify.digests import Digest, PublicKeys, load_public_keys, read_digest, signing_string
from trailsql.verify.validate import Gap, Report, Result, validate

__all__ = [
    "Digest",
    "Gap",
    "PublicKeys",
    "Report",
    "Result",
    "load_public_keys",
    "read_digest",
    "signing_string",
    "validate",
]
