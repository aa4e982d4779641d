-- id: secrets-retrieved-in-bulk
-- title: Secrets or SecureString parameters retrieved in bulk
-- kind: detection
-- severity: high
-- tags: attack.credential-access, attack.t1555.006
-- techniques: aws.credential-access.secretsmanager-retrieve-secrets, aws.credential-access.secretsmanager-batch-retrieve-secrets, aws.credential-access.ssm-retrieve-securestring-parameters
-- param: since duration = 24h
-- param: threshold int = 5
-- key: actor, eventname
-- description: A principal that read (or tried to read: denied calls count) at least
--   `threshold` distinct Secrets Manager secrets or decrypted SSM parameters in the window
--   (or that many in one GetParameters call), or used BatchGetSecretValue. A service
--   reading its own secret or two every few minutes reads few secrets, many times: not bulk.
WITH reads AS (
    SELECT
        eventTime,
        eventName,
        errorCode,
        userIdentity.arn AS actor,
        recipientAccountId AS account_id,
        -- What was read: a secret, a parameter, a path, or one call's list of names.
        coalesce(
            json_extract_scalar(requestParameters, '$.secretId'),
            json_extract_scalar(requestParameters, '$.name'),
            json_extract_scalar(requestParameters, '$.path'),
            json_format(json_extract(requestParameters, '$.names'))
        ) AS item,
        coalesce(json_array_length(json_extract(requestParameters, '$.names')), 1) AS names
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND (
            (eventSource = 'secretsmanager.amazonaws.com' AND eventName IN ('GetSecretValue', 'BatchGetSecretValue'))
            OR (eventSource = 'ssm.amazonaws.com' AND eventName IN ('GetParameter', 'GetParameters', 'GetParametersByPath')
                AND json_extract_scalar(requestParameters, '$.withDecryption') = 'true')
        )
),
readers AS (
    SELECT
        CASE
            WHEN eventName = 'BatchGetSecretValue' THEN 'aws.credential-access.secretsmanager-batch-retrieve-secrets'
            WHEN eventName = 'GetSecretValue' THEN 'aws.credential-access.secretsmanager-retrieve-secrets'
            ELSE 'aws.credential-access.ssm-retrieve-securestring-parameters'
        END AS technique,
        eventName,
        actor,
        account_id,
        min(eventTime) AS first_seen,
        max(eventTime) AS last_seen,
        count(*) AS calls,
        count_if(errorCode IS NOT NULL) AS denied,
        greatest(count(DISTINCT item), max(names)) AS items
    FROM reads
    GROUP BY 1, 2, 3, 4
)
SELECT *
FROM readers
WHERE eventName = 'BatchGetSecretValue' OR items >= {{threshold}}
ORDER BY first_seen
