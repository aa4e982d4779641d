-- id: console-login-without-mfa
-- title: Console login without MFA, or by the root user
-- kind: detection
-- severity: high
-- tags: attack.initial-access, attack.t1078.004
-- techniques: aws.initial-access.console-login-without-mfa
-- key: eventid
-- description: A successful AWS console sign-in that used no MFA, or any root sign-in.
--   Federated (SAML/SSO) sign-ins are left out: their MFA is the identity provider's.
SELECT
    eventTime,
    'aws.initial-access.console-login-without-mfa' AS technique,
    eventName,
    userIdentity.arn AS actor,
    userIdentity.type AS identity_type,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(additionalEventData, '$.MFAUsed') AS mfa_used,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventName = 'ConsoleLogin'
    AND json_extract_scalar(responseElements, '$.ConsoleLogin') = 'Success'
    AND userIdentity.type IN ('IAMUser', 'Root')
    AND (userIdentity.type = 'Root' OR coalesce(json_extract_scalar(additionalEventData, '$.MFAUsed'), 'No') <> 'Yes')
ORDER BY eventTime
