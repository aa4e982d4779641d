-- id: rolesanywhere-trust-anchor
-- title: IAM Roles Anywhere trust anchor or profile created
-- kind: detection
-- severity: high
-- tags: attack.persistence, attack.t1098
-- techniques: aws.persistence.rolesanywhere-create-trust-anchor
-- key: eventid
-- description: A Roles Anywhere trust anchor lets holders of certificates from an outside
--   certificate authority assume roles from anywhere.
SELECT
    eventTime,
    'aws.persistence.rolesanywhere-create-trust-anchor' AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(requestParameters, '$.name') AS target,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'rolesanywhere.amazonaws.com'
    AND eventName IN ('CreateTrustAnchor', 'UpdateTrustAnchor', 'CreateProfile')
ORDER BY eventTime
