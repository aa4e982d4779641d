-- id: s3-bucket-policy-changes
-- title: S3 bucket policy, ACL, ownership and public access changes
-- kind: hunt
-- severity: info
-- tags: seed, s3, change, investigation
-- param: since duration = 30d
-- description: Bucket policies put or deleted, bucket ACLs put, object ownership
--   controls put or deleted, Block Public Access put or deleted (for a bucket or the
--   whole account) and access point policies put or deleted, newest first. Generalises
--   the seed's "S3 Bucket Policy Changes".
-- The list is every operation of S3's API (botocore's S3 model) putting or deleting a
-- BucketPolicy, BucketAcl, OwnershipControls or PublicAccessBlock, and of S3 Control's
-- putting or deleting a PublicAccessBlock or an access point policy;
-- tests/test_investigation_queries.py checks it against the models. CloudTrail names
-- these calls by their IAM action, which is the operation's name except for Block Public
-- Access: PutPublicAccessBlock is logged as PutBucketPublicAccessBlock (S3) or
-- PutAccountPublicAccessBlock (S3 Control), and the same for Delete.
SELECT
    eventTime,
    userIdentity.arn as changed_by,
    eventName,
    json_extract_scalar(requestParameters, '$.bucketName') as bucket_name,
    sourceIPAddress
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 's3.amazonaws.com'
    AND eventName IN (
        'DeleteAccessPointPolicy', 'DeleteAccessPointPolicyForObjectLambda',
        'DeleteAccountPublicAccessBlock', 'DeleteBucketOwnershipControls', 'DeleteBucketPolicy',
        'DeleteBucketPublicAccessBlock', 'PutAccessPointPolicy', 'PutAccessPointPolicyForObjectLambda',
        'PutAccountPublicAccessBlock', 'PutBucketAcl', 'PutBucketOwnershipControls', 'PutBucketPolicy',
        'PutBucketPublicAccessBlock', 'PutMultiRegionAccessPointPolicy'
    )
ORDER BY eventTime DESC
