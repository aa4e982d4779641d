-- id: s3-bucket-opened-to-everyone
-- title: S3 bucket opened to everyone (policy, ACL or public access block)
-- kind: detection
-- severity: critical
-- tags: attack.exfiltration, attack.t1530
-- key: eventid
-- description: A bucket policy with an Allow statement for any principal ("*", {"AWS": "*"}
--   or "*" in a list) not narrowed by a condition on the caller's account, organisation,
--   VPC or address; an ACL granting AllUsers or AuthenticatedUsers (grants in
--   AccessControlPolicy, x-amz-grant-* headers, or a public canned x-amz-acl), also on
--   CreateBucket; or a bucket's or the account's public access block deleted or put with a
--   setting switched off. Failed calls are left out.
WITH calls AS (
    SELECT
        *,
        -- the request without blanks or escapes (a policy may come as escaped JSON text)
        regexp_replace(requestParameters, '[\s\\]', '') AS request,
        CASE WHEN json_array_length(json_extract(requestParameters, '$.bucketPolicy.Statement')) IS NOT NULL
             THEN CAST(json_extract(requestParameters, '$.bucketPolicy.Statement') AS ARRAY(JSON))
             WHEN json_extract(requestParameters, '$.bucketPolicy.Statement') IS NOT NULL
             THEN ARRAY[json_extract(requestParameters, '$.bucketPolicy.Statement')] END AS statements
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND eventSource = 's3.amazonaws.com'
        AND errorCode IS NULL
        AND eventName IN ('PutBucketPolicy', 'PutBucketAcl', 'CreateBucket', 'DeleteBucketPublicAccessBlock',
                          'PutBucketPublicAccessBlock', 'DeleteAccountPublicAccessBlock', 'PutAccountPublicAccessBlock',
                          'DeletePublicAccessBlock', 'PutPublicAccessBlock')
)
SELECT
    eventTime,
    'attack.t1530' AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    coalesce(json_extract_scalar(requestParameters, '$.bucketName'),
             json_extract_scalar(requestParameters, '$.x-amz-account-id'), recipientAccountId) AS target,
    errorCode,
    eventID
FROM calls
WHERE (eventName = 'PutBucketPolicy' AND (
        -- a statement allowing everyone, with no condition tying it to an account, org, VPC or address
        any_match(statements, s ->
            regexp_like(regexp_replace(json_format(s), '[\s\\]', ''), '(?i)"Effect":"Allow"')
            AND regexp_like(regexp_replace(json_format(s), '[\s\\]', ''),
                            '(?i)"Principal":("\*"|\{[^}]*"AWS":("\*"|\[[^\]]*"\*"))')
            AND NOT regexp_like(json_format(s),
                                '(?i)aws:(SourceVpce?|SourceAccount|SourceArn|SourceOwner|SourceIp|VpcSourceIp|PrincipalOrgID|PrincipalOrgPaths|PrincipalAccount|PrincipalArn|userid)"'))
        -- a policy given as text (no Statement to read): the same test on the whole request
        OR (statements IS NULL
            AND regexp_like(request, '(?i)"Effect":"Allow"')
            AND regexp_like(request, '(?i)"Principal":("\*"|\{[^}]*"AWS":("\*"|\[[^\]]*"\*"))'))))
    OR (eventName IN ('PutBucketAcl', 'CreateBucket') AND (
        regexp_like(request, '(?i)acs\.amazonaws\.com/groups/global/(AllUsers|AuthenticatedUsers)')
        OR regexp_like(request, '(?i)"x-amz-acl":\[?"(public-read|public-read-write|authenticated-read)"')))
    OR (eventName IN ('DeleteBucketPublicAccessBlock', 'DeleteAccountPublicAccessBlock', 'DeletePublicAccessBlock'))
    OR (eventName IN ('PutBucketPublicAccessBlock', 'PutAccountPublicAccessBlock', 'PutPublicAccessBlock')
        AND regexp_like(request, '(?i)"(BlockPublicPolicy|RestrictPublicBuckets|BlockPublicAcls|IgnorePublicAcls)":"?false'))
ORDER BY eventTime
