-- id: iam-admin-policy-attached
-- title: Administrator policy attached to a user, role or group
-- kind: detection
-- severity: high
-- tags: attack.privilege-escalation, attack.persistence, attack.t1098.003
-- techniques: aws.persistence.iam-create-admin-user, aws.persistence.iam-create-backdoor-role
-- key: eventid
-- description: AdministratorAccess (or another policy named like an admin policy) attached,
--   or an inline policy granting every action put (PutUserPolicy, PutRolePolicy,
--   PutGroupPolicy), or a managed policy's new default version granting every action
--   (CreatePolicyVersion with setAsDefault). The policy document may be plain JSON text or
--   URL-encoded; "Action": "*" alone or inside a list, with Effect Allow. Failed calls are
--   left out.
WITH calls AS (
    SELECT
        *,
        -- the policy document as JSON text without blanks or escapes, URL-decoded if it came encoded
        regexp_replace(
            CASE WHEN regexp_like(json_extract_scalar(requestParameters, '$.policyDocument'), '^\s*%')
                 THEN url_decode(replace(json_extract_scalar(requestParameters, '$.policyDocument'), '+', '%20'))
                 ELSE coalesce(json_extract_scalar(requestParameters, '$.policyDocument'),
                               json_format(json_extract(requestParameters, '$.policyDocument'))) END,
            '[\s\\]', '') AS document
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND eventSource = 'iam.amazonaws.com'
        AND errorCode IS NULL
)
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
FROM calls
WHERE (
        (eventName IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy')
         AND regexp_like(lower(json_extract_scalar(requestParameters, '$.policyArn')), 'administratoraccess|/admin'))
        OR ((eventName IN ('PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy')
             OR (eventName = 'CreatePolicyVersion'
                 AND lower(json_extract_scalar(requestParameters, '$.setAsDefault')) = 'true'))
            AND regexp_like(document, '(?i)"Effect":"Allow"')
            AND regexp_like(document, '(?i)"Action":("\*"|\[[^\]]*"\*")'))
    )
ORDER BY eventTime
