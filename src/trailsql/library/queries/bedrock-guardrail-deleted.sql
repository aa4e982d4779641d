-- id: bedrock-guardrail-deleted
-- title: Bedrock guardrail deleted or changed
-- kind: detection
-- severity: medium
-- tags: attack.defense-evasion, attack.t1562
-- techniques: aws.defense-evasion.bedrock-guardrail-delete
-- key: eventid
-- description: A Bedrock guardrail, which filters what models may say and be asked, was
--   deleted or changed.
SELECT
    eventTime,
    CASE eventName WHEN 'DeleteGuardrail' THEN 'aws.defense-evasion.bedrock-guardrail-delete' ELSE 'attack.t1562' END AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(requestParameters, '$.guardrailIdentifier') AS target,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'bedrock.amazonaws.com'
    AND eventName IN ('DeleteGuardrail', 'UpdateGuardrail')
    AND errorCode IS NULL
ORDER BY eventTime
