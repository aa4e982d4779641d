-- id: s3-bucket-policy-changes
-- title: S3 bucket policy and ACL changes
-- kind: hunt
-- severity: info
-- tags: seed, s3, change
-- param: since duration = 30d
-- description: Bucket policies put or deleted and bucket ACLs put. The seed's "S3 Bucket
--   Policy Changes".
SELECT
    eventTime,
    userIdentity.arn as changed_by,
    eventName,
    json_extract_scalar(requestParameters, '$.bucketName') as bucket_name,
    sourceIPAddress
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 's3.amazonaws.com'
    AND eventName IN ('PutBucketPolicy', 'DeleteBucketPolicy', 'PutBucketAcl')
ORDER BY eventTime DESC
