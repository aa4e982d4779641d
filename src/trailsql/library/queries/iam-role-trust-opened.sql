-- id: iam-role-trust-opened
-- title: Role trust policy lets another account or everyone assume the role
-- kind: detection
-- severity: critical
-- tags: attack.persistence, attack.privilege-escalation, attack.t1098
-- techniques: aws.persistence.iam-backdoor-role, aws.persistence.iam-create-backdoor-role
-- key: eventid
-- description: A role created, or its trust policy updated, so that principals of another
--   AWS account (or "*") may assume it: Principal "*", {"AWS": "*"} (alone or in a list),
--   or an AWS principal naming another account by ARN or by bare account id. The document
--   may be plain JSON text or URL-encoded.
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
        -- the trust policy without blanks or escapes, URL-decoded if it came encoded
        regexp_replace(
            CASE WHEN regexp_like(coalesce(json_extract_scalar(requestParameters, '$.policyDocument'),
                                           json_extract_scalar(requestParameters, '$.assumeRolePolicyDocument')), '^\s*%')
                 THEN url_decode(replace(coalesce(json_extract_scalar(requestParameters, '$.policyDocument'),
                                                  json_extract_scalar(requestParameters, '$.assumeRolePolicyDocument')), '+', '%20'))
                 ELSE coalesce(json_extract_scalar(requestParameters, '$.policyDocument'),
                               json_extract_scalar(requestParameters, '$.assumeRolePolicyDocument')) END,
            '[\s\\]', '') AS document,
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
    regexp_like(document, '(?i)"Principal":"\*"|"AWS":(\[[^\]]*)?"\*"')
    OR cardinality(filter(regexp_extract_all(document, 'arn:aws[a-z-]*:iam::[0-9]{12}'),
                          a -> substr(a, length(a) - 11) <> account_id)) > 0
    -- bare account ids in an AWS principal ("AWS": "111122223333" or a list of them)
    OR cardinality(filter(regexp_extract_all(array_join(regexp_extract_all(document, '(?i)"AWS":(\[[^\]]*\]|"[^"]*")'), ','),
                                             '"[0-9]{12}"'),
                          a -> substr(a, 2, 12) <> account_id)) > 0)
ORDER BY eventTime
