-- id: ec2-unusual-instances
-- title: GPU or very large EC2 instances launched (or tried)
-- kind: detection
-- severity: medium
-- tags: attack.impact, attack.t1496
-- techniques: aws.execution.ec2-launch-unusual-instances
-- key: eventid
-- description: RunInstances for GPU, accelerator or very large instance types, the usual
--   choice for crypto-mining on stolen credentials; denied attempts included.
SELECT
    eventTime,
    'aws.execution.ec2-launch-unusual-instances' AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(requestParameters, '$.instanceType') AS instance_type,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'ec2.amazonaws.com'
    AND eventName = 'RunInstances'
    AND regexp_like(json_extract_scalar(requestParameters, '$.instanceType'),
                    '^(p[0-9]|g[0-9]|inf[0-9]|trn[0-9]|dl[0-9]|f[0-9]|vt[0-9]|x[0-9]|u-|[a-z0-9]+\.(metal|[0-9]{2}xlarge))')
ORDER BY eventTime
