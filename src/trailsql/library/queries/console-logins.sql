-- id: console-logins
-- title: Console logins and MFA
-- kind: hunt
-- severity: info
-- tags: seed, authentication
-- param: since duration = 30d
-- description: Every AWS console sign-in, with its outcome and whether MFA was used. The
--   seed's "Console Logins".
SELECT
    eventTime,
    userIdentity.userName,
    sourceIPAddress,
    responseElements,
    userIdentity.sessionContext.attributes.mfaAuthenticated as mfa_used
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventName = 'ConsoleLogin'
ORDER BY eventTime DESC
