-- id: who-did-what
-- title: Who did what: a user's write actions
-- kind: hunt
-- severity: info
-- tags: seed, investigation
-- param: since duration = 24h
-- param: user string
-- key: eventtime, eventname
-- description: Every write action (readOnly false) by one IAM user name in the window,
--   newest first. The seed's "Who Did What Recently".
SELECT
    eventTime,
    eventSource,
    eventName,
    sourceIPAddress,
    errorCode
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND userIdentity.userName = {{user}}
    AND readOnly = 'false'
ORDER BY eventTime DESC
