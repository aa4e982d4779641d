-- id: sts-federation-token
-- title: Federation token obtained by an IAM user
-- kind: detection
-- severity: medium
-- tags: attack.persistence, attack.t1550.001
-- techniques: aws.persistence.sts-federation-token
-- key: eventid
-- description: GetFederationToken gives temporary credentials that outlive the deletion of
--   the access key that made them (up to 36 hours): a known persistence trick.
SELECT
    eventTime,
    'aws.persistence.sts-federation-token' AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(requestParameters, '$.name') AS target,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'sts.amazonaws.com'
    AND eventName = 'GetFederationToken'
ORDER BY eventTime
