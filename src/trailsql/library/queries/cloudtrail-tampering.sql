-- id: cloudtrail-tampering
-- title: CloudTrail stopped, deleted or its event selectors changed
-- kind: detection
-- severity: critical
-- tags: attack.defense-evasion, attack.t1562.008
-- techniques: aws.defense-evasion.cloudtrail-stop, aws.defense-evasion.cloudtrail-delete, aws.defense-evasion.cloudtrail-event-selectors
-- key: eventid
-- description: A trail stopped logging, deleted, or told to record less (event selectors
--   that drop management events, reads or writes, or event sources): the first move of an
--   attacker who wants to act unseen. Failed attempts are left out.
SELECT
    eventTime,
    CASE eventName
        WHEN 'StopLogging' THEN 'aws.defense-evasion.cloudtrail-stop'
        WHEN 'DeleteTrail' THEN 'aws.defense-evasion.cloudtrail-delete'
        ELSE 'aws.defense-evasion.cloudtrail-event-selectors'
    END AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    awsRegion,
    coalesce(json_extract_scalar(requestParameters, '$.name'), json_extract_scalar(requestParameters, '$.trailName')) AS target,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'cloudtrail.amazonaws.com'
    AND errorCode IS NULL
    AND (
        eventName IN ('StopLogging', 'DeleteTrail', 'PutAdvancedEventSelectors')
        -- event selectors that record less: no management events, only reads or writes, sources left out
        OR (eventName = 'PutEventSelectors' AND regexp_like(requestParameters,
            '"includeManagementEvents"\s*:\s*false|"readWriteType"\s*:\s*"(ReadOnly|WriteOnly)"|"excludeManagementEventSources"\s*:\s*\[\s*"'))
    )
ORDER BY eventTime
