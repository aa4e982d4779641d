-- id: cloudtrail-tampering
-- title: CloudTrail stopped, deleted or its event selectors changed
-- kind: detection
-- severity: critical
-- tags: attack.defense-evasion, attack.t1562.008
-- techniques: aws.defense-evasion.cloudtrail-stop, aws.defense-evasion.cloudtrail-delete, aws.defense-evasion.cloudtrail-event-selectors
-- key: eventid
-- description: A trail stopped logging, deleted, or told to record less: the first move of
--   an attacker who wants to act unseen. The trail may be named by name or by ARN (`trail`
--   is its name either way). Recording less: event selectors (basic or advanced) of which
--   none records every management event, reads and writes, from every source; UpdateTrail
--   switching off multi-region, global service events or log file validation; CloudTrail
--   Lake event data stores deleted or their ingestion stopped. Failed attempts are left out.
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
    coalesce(json_extract_scalar(requestParameters, '$.name'), json_extract_scalar(requestParameters, '$.trailName'),
             json_extract_scalar(requestParameters, '$.eventDataStore')) AS target,
    regexp_replace(coalesce(json_extract_scalar(requestParameters, '$.name'),
                            json_extract_scalar(requestParameters, '$.trailName'),
                            json_extract_scalar(requestParameters, '$.eventDataStore')),
                   '^arn:[^:]*:cloudtrail:[^:]*:[^:]*:(trail|eventdatastore)/', '') AS trail,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'cloudtrail.amazonaws.com'
    AND errorCode IS NULL
    AND (
        eventName IN ('StopLogging', 'DeleteTrail', 'DeleteEventDataStore', 'StopEventDataStoreIngestion')
        -- event selectors of which none records every management event: each drops management
        -- events, keeps only reads or only writes, or leaves sources out (an event is recorded when
        -- it matches any selector; readWriteType defaults to All, includeManagementEvents to true)
        OR (eventName = 'PutEventSelectors'
            AND json_array_length(json_extract(requestParameters, '$.eventSelectors')) > 0
            AND NOT any_match(CAST(json_extract(requestParameters, '$.eventSelectors') AS ARRAY(JSON)), sel ->
                lower(coalesce(json_extract_scalar(sel, '$.readWriteType'), 'All')) = 'all'
                AND lower(coalesce(json_extract_scalar(sel, '$.includeManagementEvents'), 'true')) = 'true'
                AND coalesce(json_array_length(json_extract(sel, '$.excludeManagementEventSources')), 0) = 0))
        -- advanced event selectors (they replace the trail's selectors) with none recording every
        -- management event: none selects eventCategory Management without narrowing it by
        -- readOnly, eventSource, eventName or caller
        OR (eventName IN ('PutEventSelectors', 'PutAdvancedEventSelectors')
            AND json_array_length(json_extract(requestParameters, '$.advancedEventSelectors')) > 0
            AND NOT any_match(CAST(json_extract(requestParameters, '$.advancedEventSelectors') AS ARRAY(JSON)), sel ->
                coalesce(any_match(CAST(json_extract(sel, '$.fieldSelectors') AS ARRAY(JSON)), f ->
                    lower(json_extract_scalar(f, '$.field')) = 'eventcategory'
                    AND coalesce(json_format(json_extract(f, '$.equals')), '') LIKE '%"Management"%'), false)
                AND NOT coalesce(any_match(CAST(json_extract(sel, '$.fieldSelectors') AS ARRAY(JSON)), f ->
                    lower(json_extract_scalar(f, '$.field')) IN ('readonly', 'eventsource', 'eventname', 'eventtype',
                                                                 'useridentity.arn', 'sessioncredentialfromconsole')), false)))
        -- a trail updated to record less: one region only, no global service events, no digest files
        OR (eventName = 'UpdateTrail' AND regexp_like(requestParameters,
            '(?i)"(isMultiRegionTrail|includeGlobalServiceEvents|enableLogFileValidation)"\s*:\s*"?false'))
    )
ORDER BY eventTime
