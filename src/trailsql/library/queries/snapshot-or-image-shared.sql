-- id: snapshot-or-image-shared
-- title: EBS snapshot, AMI or RDS snapshot shared outside the account
-- kind: detection
-- severity: critical
-- tags: attack.exfiltration, attack.t1537
-- techniques: aws.exfiltration.ec2-share-ebs-snapshot, aws.exfiltration.ec2-share-ami, aws.exfiltration.rds-share-snapshot
-- key: eventid
-- description: Permission to create volumes from an EBS snapshot, to launch an AMI, or to
--   restore an RDS snapshot given to another account or to everyone ("all"): a copy of
--   the data leaves with it. Shapes: createVolumePermission / launchPermission with add
--   items (userId, group "all", organizationArn, organizationalUnitArn); the older form
--   with attributeType (or attribute) and operationType "add" plus userIds / userGroups /
--   groupNames / organizationArns; RDS restore valuesToAdd (an account id or "all").
--   Removals and adds naming only this account are left out, as are failed calls.
WITH shares AS (
    SELECT
        eventTime,
        eventName,
        userIdentity.arn AS actor,
        sourceIPAddress,
        recipientAccountId AS account_id,
        coalesce(
            json_extract_scalar(requestParameters, '$.snapshotId'),
            json_extract_scalar(requestParameters, '$.imageId'),
            json_extract_scalar(requestParameters, '$.dBSnapshotIdentifier'),
            json_extract_scalar(requestParameters, '$.dBClusterSnapshotIdentifier')
        ) AS target,
        coalesce(
            json_format(json_extract(requestParameters, '$.createVolumePermission.add')),
            json_format(json_extract(requestParameters, '$.launchPermission.add')),
            CASE WHEN lower(json_extract_scalar(requestParameters, '$.attributeName')) = 'restore'
                 THEN json_format(json_extract(requestParameters, '$.valuesToAdd')) END,
            -- the older form: an operation type and the lists it applies to
            CASE WHEN lower(json_extract_scalar(requestParameters, '$.operationType')) = 'add'
                 THEN concat_ws(',',
                     json_format(json_extract(requestParameters, '$.userIds')),
                     json_format(json_extract(requestParameters, '$.userId')),
                     json_format(json_extract(requestParameters, '$.userGroups')),
                     json_format(json_extract(requestParameters, '$.groupNames')),
                     json_format(json_extract(requestParameters, '$.organizationArns')),
                     json_format(json_extract(requestParameters, '$.organizationalUnitArns'))) END
        ) AS shared_with,
        errorCode,
        eventID
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND eventName IN ('ModifySnapshotAttribute', 'ModifyImageAttribute', 'ModifyDBSnapshotAttribute',
                          'ModifyDBClusterSnapshotAttribute')
        AND errorCode IS NULL
)
SELECT
    eventTime,
    CASE eventName
        WHEN 'ModifySnapshotAttribute' THEN 'aws.exfiltration.ec2-share-ebs-snapshot'
        WHEN 'ModifyImageAttribute' THEN 'aws.exfiltration.ec2-share-ami'
        ELSE 'aws.exfiltration.rds-share-snapshot'
    END AS technique,
    eventName,
    actor,
    sourceIPAddress,
    account_id,
    target,
    shared_with,
    errorCode,
    eventID
FROM shares
WHERE regexp_like(shared_with, '(?i)"all"|arn:aws[a-z-]*:organizations:')
    OR cardinality(filter(regexp_extract_all(shared_with, '[0-9]{12}'), a -> a <> account_id)) > 0
ORDER BY eventTime
