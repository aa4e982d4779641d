-- id: s3-bucket-opened-to-everyone
-- title: S3 bucket opened to everyone (policy, ACL or public access block)
-- kind: detection
-- severity: high
-- tags: attack.exfiltration, attack.t1530
-- key: eventid
-- description: A bucket policy allowing any principal ("*"), an ACL granting AllUsers or
--   AuthenticatedUsers, or the bucket's public access block removed or switched off.
SELECT
    eventTime,
    'attack.t1530' AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(requestParameters, '$.bucketName') AS target,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 's3.amazonaws.com'
    AND errorCode IS NULL
    AND (
        (eventName = 'PutBucketPolicy'
         AND regexp_like(requestParameters, '"Principal"\s*:\s*(\{\s*"AWS"\s*:\s*)?(\[\s*)?"\*"')
         AND regexp_like(requestParameters, '"Effect"\s*:\s*"Allow"'))
        OR (eventName = 'PutBucketAcl' AND regexp_like(requestParameters, 'acs.amazonaws.com/groups/global/(AllUsers|AuthenticatedUsers)'))
        OR eventName = 'DeleteBucketPublicAccessBlock'
        OR (eventName = 'PutBucketPublicAccessBlock' AND regexp_like(requestParameters, '"(BlockPublicPolicy|RestrictPublicBuckets|BlockPublicAcls|IgnorePublicAcls)"\s*:\s*false'))
    )
ORDER BY eventTime
