-- id: instance-credentials-used-elsewhere
-- title: EC2 instance role credentials used from outside the instance
-- kind: detection
-- severity: high
-- tags: attack.credential-access, attack.t1552.005
-- techniques: aws.credential-access.ec2-steal-instance-credentials
-- key: actor, sourceipaddress
-- description: A session of an EC2 instance's role (named after the instance, i-...)
--   calling from an address that IAM users of the account also call from, or asking
--   "who am I" (GetCallerIdentity): credentials taken from the instance metadata service
--   and used by a person.
WITH instance_calls AS (
    SELECT eventTime, eventName, userIdentity.arn AS actor, sourceIPAddress, recipientAccountId AS account_id
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND userIdentity.type = 'AssumedRole'
        AND regexp_like(userIdentity.principalId, ':i-[0-9a-zA-Z]{8,17}$')
),
people AS (
    SELECT DISTINCT sourceIPAddress
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND userIdentity.type IN ('IAMUser', 'Root')
)
SELECT
    'aws.credential-access.ec2-steal-instance-credentials' AS technique,
    c.actor,
    c.sourceIPAddress,
    c.account_id,
    min(c.eventTime) AS first_seen,
    count(*) AS calls,
    array_join(array_agg(DISTINCT c.eventName), ', ') AS actions
FROM instance_calls c
LEFT JOIN people p ON c.sourceIPAddress = p.sourceIPAddress
WHERE p.sourceIPAddress IS NOT NULL OR c.eventName = 'GetCallerIdentity'
GROUP BY c.actor, c.sourceIPAddress, c.account_id
ORDER BY first_seen
