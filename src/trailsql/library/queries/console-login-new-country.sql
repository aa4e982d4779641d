-- id: console-login-new-country
-- title: Console login from a country never seen for that user
-- kind: detection
-- severity: medium
-- tags: attack.initial-access, attack.t1078.004, enrichment
-- key: eventid
-- group: actor, country
-- param: since duration = 24h
-- param: baseline duration = 30d
-- summary: {actor} signed in to the console from {country} ({as_org}), a country not seen for them in the baseline: {addresses}
-- description: A successful console sign-in from a country its principal did not sign in
--   from in the `baseline` before the window, for principals that did sign in from a known
--   country in the baseline (a first sign-in has nothing to compare with). The country is
--   ip_info's, from the workspace's MaxMind/IPinfo database ([enrich] mmdb): without one no
--   country is known and nothing is reported (nor for an address the database does not know).
WITH known_countries AS (
    SELECT DISTINCT userIdentity.arn AS actor, ip_info(sourceIPAddress).country AS country
    FROM cloudtrail_logs
    WHERE {{baseline}} {{scope}}
        AND eventName = 'ConsoleLogin'
        AND json_extract_scalar(responseElements, '$.ConsoleLogin') = 'Success'
        AND ip_info(sourceIPAddress).country IS NOT NULL
),
known_actors AS (
    SELECT DISTINCT actor FROM known_countries
),
logins AS (
    SELECT
        eventTime,
        eventName,
        userIdentity.arn AS actor,
        userIdentity.type AS identity_type,
        sourceIPAddress,
        recipientAccountId AS account_id,
        ip_info(sourceIPAddress) AS info,
        eventID
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND eventName = 'ConsoleLogin'
        AND json_extract_scalar(responseElements, '$.ConsoleLogin') = 'Success'
)
SELECT
    l.eventTime,
    l.eventName,
    l.actor,
    l.identity_type,
    l.sourceIPAddress,
    l.account_id,
    l.info.country AS country,
    l.info.asn AS asn,
    l.info.as_org AS as_org,
    l.eventID
FROM logins l
JOIN known_actors a ON a.actor = l.actor
LEFT JOIN known_countries k ON k.actor = l.actor AND k.country = l.info.country
WHERE l.info.country IS NOT NULL
    AND k.actor IS NULL
ORDER BY l.eventTime
