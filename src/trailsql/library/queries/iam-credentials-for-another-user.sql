-- id: iam-credentials-for-another-user
-- title: Access key or console password made for another IAM user
-- kind: detection
-- severity: high
-- tags: attack.persistence, attack.t1098.001, attack.privilege-escalation
-- techniques: aws.persistence.iam-backdoor-user, aws.persistence.iam-create-user-login-profile, aws.privilege-escalation.iam-update-user-login-profile
-- key: eventid
-- description: An access key created, or a console password set or changed (without
--   forcing a new one at next sign-in), for a user other than the caller: a way back in
--   under someone else's name.
SELECT
    eventTime,
    CASE eventName
        WHEN 'CreateAccessKey' THEN 'aws.persistence.iam-backdoor-user'
        WHEN 'CreateLoginProfile' THEN 'aws.persistence.iam-create-user-login-profile'
        ELSE 'aws.privilege-escalation.iam-update-user-login-profile'
    END AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(requestParameters, '$.userName') AS target,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'iam.amazonaws.com'
    AND eventName IN ('CreateAccessKey', 'CreateLoginProfile', 'UpdateLoginProfile')
    AND errorCode IS NULL
    AND json_extract_scalar(requestParameters, '$.userName') IS NOT NULL
    -- the caller's own user (or, for a role session, the session's name) is not "another user"
    AND json_extract_scalar(requestParameters, '$.userName')
        <> coalesce(userIdentity.userName, regexp_extract(userIdentity.arn, '[^/]+$'), '')
    -- an administrator's reset that forces a new password at the next sign-in is routine
    AND coalesce(json_extract_scalar(requestParameters, '$.passwordResetRequired'), 'false') <> 'true'
ORDER BY eventTime
