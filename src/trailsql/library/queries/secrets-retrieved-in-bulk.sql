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
--   `threshold` Secrets Manager secrets or decrypted SSM parameters in the window, or
--   used BatchGetSecretValue.
SELECT
    CASE
        WHEN eventName = 'BatchGetSecretValue' THEN 'aws.credential-access.secretsmanager-batch-retrieve-secrets'
        WHEN eventName = 'GetSecretValue' THEN 'aws.credential-access.secretsmanager-retrieve-secrets'
        ELSE 'aws.credential-access.ssm-retrieve-securestring-parameters'
    END AS technique,
    eventName,
    userIdentity.arn AS actor,
    recipientAccountId AS account_id,
    min(eventTime) AS first_seen,
    max(eventTime) AS last_seen,
    count(*) AS calls,
    count_if(errorCode IS NOT NULL) AS denied,
    sum(coalesce(json_array_length(json_extract(requestParameters, '$.names')), 1)) AS items
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND (
        (eventSource = 'secretsmanager.amazonaws.com' AND eventName IN ('GetSecretValue', 'BatchGetSecretValue'))
        OR (eventSource = 'ssm.amazonaws.com' AND eventName IN ('GetParameter', 'GetParameters', 'GetParametersByPath')
            AND json_extract_scalar(requestParameters, '$.withDecryption') = 'true')
    )
GROUP BY 1, 2, 3, 4
HAVING eventName = 'BatchGetSecretValue' OR sum(coalesce(json_array_length(json_extract(requestParameters, '$.names')), 1)) >= {{threshold}}
ORDER BY first_seen
