-- id: iam-changes
-- title: IAM user, role, policy and key changes
-- kind: hunt
-- severity: info
-- tags: seed, iam, change
-- param: since duration = 30d
-- description: IAM users and roles created or deleted, policies attached or detached, and
--   access keys created or deleted. The seed's "IAM Changes".
SELECT
    eventTime,
    userIdentity.arn as changed_by,
    eventName,
    requestParameters
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'iam.amazonaws.com'
    AND eventName IN (
        'CreateUser', 'DeleteUser',
        'CreateRole', 'DeleteRole',
        'AttachUserPolicy', 'DetachUserPolicy',
        'AttachRolePolicy', 'DetachRolePolicy',
        'PutUserPolicy', 'DeleteUserPolicy',
        'CreateAccessKey', 'DeleteAccessKey'
    )
ORDER BY eventTime DESC
