"""``trailsql enrich update``: AWS's ``ip-ranges.json`` downloaded into the workspace.

The download is checked to be an ``ip-ranges.json`` document before it replaces the file
(written beside it, then renamed: a query reading the ranges meanwhile sees the old file or
the new one, never half of one). No network is a clear error, and the old file stays.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from trailsql.enrich.ranges import AwsRanges
from trailsql.errors import SourceError, UsageError

#: Seconds to wait for AWS's answer (the file is ~2 MB).
TIMEOUT_S = 60.0


def download(url: str, target: Path, timeout: float = TIMEOUT_S) -> AwsRanges:
    """Download the ranges at ``url`` (http or https) to ``target``, and return them."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise UsageError(f"the IP ranges URL must be http:// or https://, not {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # (the scheme is checked above)
            data = response.read()
    except urllib.error.HTTPError as error:
        raise SourceError(f"could not download AWS's IP ranges from {url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        raise SourceError(
            f"could not download AWS's IP ranges from {url}: {reason} (no network? copy the file and set [enrich] ip_ranges)"
        ) from None
    try:
        ranges = AwsRanges.parse(json.loads(data), url)
    except ValueError as error:  # (not JSON; BadInputError for JSON not in the format)
        raise SourceError(f"{url} did not answer with AWS's IP ranges: {error}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    ranges.path = str(target)
    return ranges
