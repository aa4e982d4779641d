-- id: root-activity
-- title: Root user signs in or changes something
-- kind: detection
-- severity: high
-- tags: attack.privilege-escalation, attack.t1078.004
-- key: eventname, sourceipaddress
-- description: Successful sign-ins and write API calls with the account's root
--   credentials (not by AWS services on its behalf). The root user should almost never be used.
SELECT
    min(eventTime) AS first_seen,
    max(eventTime) AS last_seen,
    eventName,
    sourceIPAddress,
    recipientAccountId AS account_id,
    count(*) AS calls
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND userIdentity.type = 'Root'
    AND userIdentity.invokedBy IS NULL
    AND eventType <> 'AwsServiceEvent'
    AND coalesce(readOnly, '') <> 'true'
    AND errorCode IS NULL
    AND coalesce(json_extract_scalar(responseElements, '$.ConsoleLogin'), 'Success') = 'Success'
    -- made by AWS when a service is first used; a sign-in to an external directory is not the root's
    AND eventName NOT IN ('CreateServiceLinkedRole', 'ExternalIdPDirectoryLogin')
GROUP BY eventName, sourceIPAddress, recipientAccountId
ORDER BY first_seen
