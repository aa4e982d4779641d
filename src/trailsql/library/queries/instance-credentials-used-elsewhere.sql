-- id: instance-credentials-used-elsewhere
-- title: EC2 instance role credentials used from outside the instance
-- kind: detection
-- severity: high
-- tags: attack.credential-access, attack.t1552.005
-- techniques: aws.credential-access.ec2-steal-instance-credentials
-- key: actor, sourceipaddress
-- group: actor
-- param: since duration = 24h
-- param: baseline duration = 24h
-- description: An EC2 instance's role credentials (a session named after the instance,
--   i-...) calling from a network the instance does not otherwise use, as GuardDuty's
--   instance credential exfiltration finding reasons: not a network (/24) the instance
--   called from in the `baseline` before the window, and either not where it called from
--   first in the window, or the very address of someone who had just sent the instance a
--   command (SSM Run Command, Session Manager, an SSH key through EC2 Instance Connect),
--   the way credentials are pulled out of an instance. An instance asking who it is
--   (GetCallerIdentity) or sharing a NAT address with people is ordinary, not a finding.
WITH instance_calls AS (
    SELECT
        eventTime,
        eventName,
        eventID,
        userIdentity.arn AS actor,
        regexp_extract(userIdentity.principalId, ':(i-[0-9a-zA-Z]{8,17})$', 1) AS instance,
        sourceIPAddress,
        -- The address's /24 (an IPv6 address is its own network): a NAT gateway or an
        -- instance keeps its address, so a new network is a new place.
        coalesce(regexp_extract(sourceIPAddress, '^(\d+\.\d+\.\d+)\.\d+$', 1), sourceIPAddress) AS network,
        recipientAccountId AS account_id
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND userIdentity.type = 'AssumedRole'
        AND regexp_like(userIdentity.principalId, ':i-[0-9a-zA-Z]{8,17}$')
        -- AWS services calling with the instance's role (an address that is a service name) are not elsewhere.
        AND regexp_like(sourceIPAddress, '^[0-9a-fA-F:.]+$')
),
history AS (
    SELECT
        regexp_extract(userIdentity.principalId, ':(i-[0-9a-zA-Z]{8,17})$', 1) AS instance,
        coalesce(regexp_extract(sourceIPAddress, '^(\d+\.\d+\.\d+)\.\d+$', 1), sourceIPAddress) AS network
    FROM cloudtrail_logs
    WHERE {{baseline}} {{scope}}
        AND userIdentity.type = 'AssumedRole'
        AND regexp_like(userIdentity.principalId, ':i-[0-9a-zA-Z]{8,17}$')
        AND regexp_like(sourceIPAddress, '^[0-9a-fA-F:.]+$')
    GROUP BY 1, 2
),
known AS (
    SELECT instance, array_agg(network) AS networks
    FROM history
    GROUP BY instance
),
first_place AS (
    SELECT instance, min_by(network, eventTime) AS network
    FROM instance_calls
    GROUP BY instance
),
commands AS (
    SELECT eventTime, userIdentity.arn AS sender, sourceIPAddress, eventName, requestParameters
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND eventName IN ('SendCommand', 'StartSession', 'SendSSHPublicKey', 'SendSerialConsoleSSHPublicKey')
        AND errorCode IS NULL
),
candidates AS (
    SELECT
        c.*,
        coalesce(k.networks, ARRAY[]) AS networks,
        f.network AS first_network,
        (
            SELECT max(m.sender)
            FROM commands m
            WHERE m.sourceIPAddress = c.sourceIPAddress
                AND strpos(m.requestParameters, '"' || c.instance || '"') > 0
                AND m.sender <> c.actor
                AND from_iso8601_timestamp(m.eventTime) BETWEEN from_iso8601_timestamp(c.eventTime) - INTERVAL '2' HOUR
                    AND from_iso8601_timestamp(c.eventTime)
        ) AS commanded_by
    FROM instance_calls c
    JOIN first_place f ON f.instance = c.instance
    LEFT JOIN known k ON k.instance = c.instance
),
foreign_calls AS (
    SELECT *
    FROM candidates
    WHERE NOT contains(networks, network) AND (network <> first_network OR commanded_by IS NOT NULL)
),
grouped AS (
    SELECT
        actor,
        instance,
        sourceIPAddress,
        account_id,
        min(eventTime) AS first_seen,
        max(eventTime) AS last_seen,
        count(*) AS calls,
        array_join(array_agg(DISTINCT eventName), ', ') AS actions,
        array_join(array_agg(eventID ORDER BY eventTime), ',') AS eventids,
        max(commanded_by) AS commanded_by,
        max(cardinality(networks)) + 1 AS networks
    FROM foreign_calls
    GROUP BY actor, instance, sourceIPAddress, account_id
)
SELECT
    'aws.credential-access.ec2-steal-instance-credentials' AS technique,
    actor,
    instance,
    sourceIPAddress,
    account_id,
    first_seen,
    last_seen,
    calls,
    actions,
    eventids,
    'role session ' || actor || ' used from ' || sourceIPAddress || CASE
        WHEN commanded_by IS NOT NULL THEN ', the address of ' || commanded_by || ', which had just sent the instance a command'
        ELSE ', outside the ' || CAST(networks AS varchar) || ' network(s) the instance used before the window and first in it'
    END AS reason
FROM grouped
ORDER BY first_seen
