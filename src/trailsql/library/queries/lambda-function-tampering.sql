-- id: lambda-function-tampering
-- title: Lambda function opened to everyone, given a layer, or its code replaced
-- kind: detection
-- severity: high
-- tags: attack.persistence, attack.t1546, attack.t1525
-- techniques: aws.persistence.lambda-backdoor-function, aws.persistence.lambda-layer-extension, aws.persistence.lambda-overwrite-code
-- key: eventid
-- description: A resource policy letting any principal but an AWS service invoke a
--   function, or a layer (an extension runs with the function's permissions) added or the
--   function's code overwritten by a person rather than a deployment role; or a function
--   URL created or changed to need no authentication (authType NONE: anyone may call it).
SELECT
    eventTime,
    CASE
        WHEN eventName LIKE 'AddPermission%' THEN 'aws.persistence.lambda-backdoor-function'
        WHEN eventName LIKE '%FunctionUrlConfig%' THEN 'aws.persistence.lambda-backdoor-function'
        WHEN eventName LIKE 'UpdateFunctionConfiguration%' THEN 'aws.persistence.lambda-layer-extension'
        ELSE 'aws.persistence.lambda-overwrite-code'
    END AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    coalesce(json_extract_scalar(requestParameters, '$.functionName'),
             json_extract_scalar(requestParameters, '$.fullyQualifiedArn.relativeId.functionName')) AS target,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'lambda.amazonaws.com'
    AND errorCode IS NULL
    AND (
        -- invoke permission for anyone but an AWS service (a service invoking a function is routine)
        (eventName LIKE 'AddPermission%'
         AND NOT coalesce(json_extract_scalar(requestParameters, '$.principal'), '') LIKE '%.amazonaws.com')
        -- a function URL anyone may call
        OR ((eventName LIKE 'CreateFunctionUrlConfig%' OR eventName LIKE 'UpdateFunctionUrlConfig%')
            AND upper(json_extract_scalar(requestParameters, '$.authType')) = 'NONE')
        -- code or layers changed by a person, not a deployment pipeline's role
        OR (eventName LIKE 'UpdateFunction%' AND eventName NOT LIKE 'UpdateFunctionUrlConfig%'
            AND (userIdentity.type IN ('IAMUser', 'Root', 'FederatedUser') OR userIdentity.arn LIKE '%AWSReservedSSO%')
            AND (eventName LIKE 'UpdateFunctionCode%'
                 OR json_array_length(coalesce(json_extract(requestParameters, '$.layers'),
                                               json_extract(responseElements, '$.layers'))) > 0))
    )
ORDER BY eventTime
