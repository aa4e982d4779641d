-- id: new-source-ips
-- title: API calls from new IP addresses
-- kind: hunt
-- severity: info
-- tags: seed, network, attack.initial-access
-- param: since duration = 24h
-- param: baseline duration = 30d
-- history: recent_ips
-- description: API calls in the window from source IPs not seen in the `baseline` before
--   it. The seed's "API Calls from New IP Addresses". The lake's first-seen profiles answer the
--   baseline where they hold all of it (same answer, no scan of the month).
WITH recent_ips AS (
    SELECT DISTINCT sourceIPAddress
    FROM cloudtrail_logs
    WHERE {{baseline}} {{scope}}
),
current_calls AS (
    SELECT
        eventTime,
        userIdentity.arn as caller,
        eventName,
        sourceIPAddress
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
)
SELECT
    c.eventTime,
    c.caller,
    c.eventName,
    c.sourceIPAddress
FROM current_calls c
LEFT JOIN recent_ips r ON c.sourceIPAddress = r.sourceIPAddress
WHERE r.sourceIPAddress IS NULL
    AND c.sourceIPAddress != 'AWS Internal'
ORDER BY c.eventTime DESC
