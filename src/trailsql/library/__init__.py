"""The query library: security hunts and detections as ``.sql`` files with a metadata header.

A library query is Athena SQL over the CloudTrail table ``cloudtrail_logs`` whose header
says what it is and which parameters it takes::

    -- id: cloudtrail-stopped
    -- title: CloudTrail logging stopped, deleted or changed
    -- kind: detection
    -- severity: critical
    -- tags: attack.defense-evasion, attack.t1562.008
    -- techniques: aws.defense-evasion.cloudtrail-stop
    -- key: eventid
    -- param: since duration = 24h
    -- description: Someone stopped or deleted a trail, or changed what it records.
    SELECT ... FROM cloudtrail_logs WHERE {{window}} {{scope}} AND eventname = 'StopLogging'

``{{window}}`` becomes the time window's predicates (on ``eventTime`` and on the
partition columns, so pruning still opens only the window's folders), ``{{baseline}}``
those of the ``baseline`` duration before the window, ``{{scope}}`` the
optional ``account``/``region`` filters, and ``{{name}}`` any other parameter as an SQL
literal. ``kind`` is ``hunt`` (questions to ask) or ``detection`` (its rows are evidence);
a detection's rows become findings grouped by its ``group`` columns (by default those of
``technique``, ``account_id``, the actor and ``target`` it returns: one attack, one finding,
see :mod:`trailsql.library.findings`), each saying why it fired in one sentence: the rows'
``reason`` column, else the ``summary`` header (``{actor} opened {target} ...``);
``key`` names the columns that identify one row of evidence;
``techniques`` are the attack techniques (Stratus Red Team ids) a detection is written for.

The package ships its library (``library/queries/``); a workspace adds folders of its own
with ``library_paths`` in ``trailsql.toml``, in the same format.
"""

from trailsql.library.query import LibraryQuery, Param, choose_queries, load_library, parse_query

__all__ = ["LibraryQuery", "Param", "choose_queries", "load_library", "parse_query"]
