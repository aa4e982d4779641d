-- id: iam-role-trust-opened
-- title: Role trust policy lets another account or everyone assume the role
-- kind: detection
-- severity: high
-- tags: attack.persistence, attack.privilege-escalation, attack.t1098
-- techniques: aws.persistence.iam-backdoor-role, aws.persistence.iam-create-backdoor-role
-- key: eventid
-- description: A role created, or its trust policy updated, so that principals of another
--   AWS account (or "*") may assume it.
WITH trusts AS (
    SELECT
        eventTime,
        eventName,
        userIdentity.arn AS actor,
        sourceIPAddress,
        recipientAccountId AS account_id,
        json_extract_scalar(requestParameters, '$.roleName') AS target,
        coalesce(json_extract_scalar(requestParameters, '$.policyDocument'),
                 json_extract_scalar(requestParameters, '$.assumeRolePolicyDocument')) AS trust,
        errorCode,
        eventID
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND eventSource = 'iam.amazonaws.com'
        AND eventName IN ('UpdateAssumeRolePolicy', 'CreateRole')
)
SELECT
    eventTime,
    CASE eventName WHEN 'UpdateAssumeRolePolicy' THEN 'aws.persistence.iam-backdoor-role'
                   ELSE 'aws.persistence.iam-create-backdoor-role' END AS technique,
    eventName,
    actor,
    sourceIPAddress,
    account_id,
    target,
    trust,
    errorCode,
    eventID
FROM trusts
WHERE errorCode IS NULL AND (
    regexp_like(trust, '"Principal"\s*:\s*"\*"|"AWS"\s*:\s*(\[\s*)?"\*"')
    OR cardinality(filter(regexp_extract_all(trust, 'arn:aws[a-z-]*:iam::[0-9]{12}'),
                          a -> substr(a, length(a) - 11) <> account_id)) > 0)
ORDER BY eventTime
