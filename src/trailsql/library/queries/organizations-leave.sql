-- id: organizations-leave
-- title: Account tried to leave its AWS Organization
-- kind: detection
-- severity: high
-- tags: attack.defense-evasion, attack.t1666
-- techniques: aws.defense-evasion.organizations-leave
-- key: eventid
-- description: LeaveOrganization (succeeded or denied): an account leaving escapes the
--   organization's guardrails (SCPs) and central logging.
SELECT
    eventTime,
    'aws.defense-evasion.organizations-leave' AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'organizations.amazonaws.com'
    AND eventName = 'LeaveOrganization'
ORDER BY eventTime
