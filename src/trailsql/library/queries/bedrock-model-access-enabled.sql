-- id: bedrock-model-access-enabled
-- title: Bedrock foundation model access enabled
-- kind: detection
-- severity: medium
-- tags: attack.impact, attack.t1496
-- techniques: aws.impact.bedrock-invoke-model
-- key: eventid
-- description: Access to a foundation model requested or its agreement accepted: the first
--   steps of "LLMjacking", running models on the victim's bill.
SELECT
    eventTime,
    'aws.impact.bedrock-invoke-model' AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(requestParameters, '$.modelId') AS target,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'bedrock.amazonaws.com'
    AND eventName IN ('PutFoundationModelEntitlement', 'CreateFoundationModelAgreement', 'PutUseCaseForModelAccess')
ORDER BY eventTime
