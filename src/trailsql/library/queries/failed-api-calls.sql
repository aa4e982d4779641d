-- id: failed-api-calls
-- title: Failed API calls
-- kind: hunt
-- severity: info
-- tags: seed, errors
-- param: since duration = 7d
-- param: limit int = 200
-- description: The latest API calls that returned an error code, with the caller and the
--   message. The seed's "Failed API Calls".
SELECT
    eventTime,
    userIdentity.arn as caller,
    eventSource,
    eventName,
    errorCode,
    errorMessage,
    sourceIPAddress
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND errorCode IS NOT NULL
    AND errorCode != ''
ORDER BY eventTime DESC
LIMIT {{limit}}
