-- id: access-denied-by-principal
-- title: AccessDenied by principal and action
-- kind: hunt
-- severity: info
-- tags: seed, errors, attack.discovery
-- param: since duration = 30d
-- description: AccessDenied errors grouped by caller and action, most denied first: a
--   principal probing what it may do shows up here. The seed's "Unauthorized Access Attempts".
SELECT
    userIdentity.arn as caller,
    eventSource,
    eventName,
    COUNT(*) as denied_count
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND errorCode = 'AccessDenied'
GROUP BY userIdentity.arn, eventSource, eventName
ORDER BY denied_count DESC
LIMIT 50
