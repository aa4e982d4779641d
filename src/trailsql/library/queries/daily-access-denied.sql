-- id: daily-access-denied
-- title: Repeated AccessDenied by principal and action
-- kind: detection
-- severity: low
-- tags: seed, errors, attack.discovery, attack.t1580
-- param: since duration = 24h
-- param: threshold int = 10
-- key: arn, eventname
-- description: A principal denied the same action more than `threshold` times in the
--   window. The seed's scheduled daily security check.
SELECT userIdentity.arn, eventName, errorCode, COUNT(*) as count
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND errorCode = 'AccessDenied'
GROUP BY userIdentity.arn, eventName, errorCode
HAVING COUNT(*) > {{threshold}}
ORDER BY count DESC
