-- id: unusual-api-volume
-- title: Unusual API call volume
-- kind: detection
-- severity: medium
-- tags: seed, volume, attack.discovery, attack.t1526
-- param: since duration = 24h
-- param: threshold int = 1000
-- key: caller
-- description: Principals that made more than `threshold` API calls in the window: a
--   script enumerating an account, or stolen keys at work. The seed's "Unusual API Call Volumes".
SELECT
    userIdentity.arn as caller,
    COUNT(*) as api_calls,
    COUNT(DISTINCT eventName) as unique_actions
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
GROUP BY userIdentity.arn
HAVING COUNT(*) > {{threshold}}
ORDER BY api_calls DESC
