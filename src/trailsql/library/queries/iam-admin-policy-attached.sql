-- id: iam-admin-policy-attached
-- title: Administrator policy attached to a user, role or group
-- kind: detection
-- severity: high
-- tags: attack.privilege-escalation, attack.persistence, attack.t1098.003
-- techniques: aws.persistence.iam-create-admin-user, aws.persistence.iam-create-backdoor-role
-- key: eventid
-- description: AdministratorAccess (or another policy named like an admin policy) attached,
--   or an inline policy granting every action on every resource put.
SELECT
    eventTime,
    CASE WHEN eventName LIKE '%Role%' THEN 'aws.persistence.iam-create-backdoor-role'
         ELSE 'aws.persistence.iam-create-admin-user' END AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    coalesce(json_extract_scalar(requestParameters, '$.userName'), json_extract_scalar(requestParameters, '$.roleName'),
             json_extract_scalar(requestParameters, '$.groupName')) AS target,
    coalesce(json_extract_scalar(requestParameters, '$.policyArn'), json_extract_scalar(requestParameters, '$.policyName')) AS policy,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'iam.amazonaws.com'
    AND (
        (eventName IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy')
         AND regexp_like(lower(json_extract_scalar(requestParameters, '$.policyArn')), 'administratoraccess|/admin'))
        OR (eventName IN ('PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy')
            AND regexp_like(replace(json_extract_scalar(requestParameters, '$.policyDocument'), ' ', ''),
                            '"Action":"\*"|"Action":\["\*"\]'))
    )
ORDER BY eventTime
