-- id: kms-key-deletion
-- title: KMS key scheduled for deletion or disabled
-- kind: detection
-- severity: high
-- tags: attack.impact, attack.t1485
-- key: eventid
-- description: A KMS key scheduled for deletion or disabled: data encrypted under it
--   becomes unreadable (ransom, or destruction). Also a key's imported key material
--   deleted, which makes it unusable at once. The key may be named by id, ARN or alias.
SELECT
    eventTime,
    'attack.t1485' AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(requestParameters, '$.keyId') AS target,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'kms.amazonaws.com'
    AND eventName IN ('ScheduleKeyDeletion', 'DisableKey', 'DeleteImportedKeyMaterial')
    AND errorCode IS NULL
ORDER BY eventTime
