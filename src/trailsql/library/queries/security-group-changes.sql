-- id: security-group-changes
-- title: Security group changes
-- kind: hunt
-- severity: info
-- tags: seed, network, change
-- param: since duration = 30d
-- description: Security groups created, deleted, or their rules added or revoked. The
--   seed's "Security Group Changes".
SELECT
    eventTime,
    userIdentity.arn as changed_by,
    eventName,
    requestParameters
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'ec2.amazonaws.com'
    AND eventName IN (
        'AuthorizeSecurityGroupIngress',
        'AuthorizeSecurityGroupEgress',
        'RevokeSecurityGroupIngress',
        'RevokeSecurityGroupEgress',
        'CreateSecurityGroup',
        'DeleteSecurityGroup'
    )
ORDER BY eventTime DESC
