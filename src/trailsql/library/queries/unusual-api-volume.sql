-- id: unusual-api-volume
-- title: Unusual API call volume
-- kind: detection
-- severity: medium
-- tags: seed, volume, attack.discovery, attack.t1526
-- param: since duration = 24h
-- param: baseline duration = 7d
-- param: threshold int = 1000
-- history: daily
-- key: caller
-- description: Principals that made more than `threshold` API calls in the window and far
--   more than their own habit: over three times their busiest day of the `baseline` before
--   the window, or, for a principal with no calls in the baseline, over ten times the
--   threshold. A script enumerating an account, or stolen keys at work; a busy service
--   doing what it does every day is not unusual, nor are AWS services' own service-linked
--   roles (AWSServiceRoleFor..., which only the service can assume). The seed's "Unusual
--   API Call Volumes", compared with each principal's own baseline.
WITH current_calls AS (
    SELECT
        userIdentity.arn AS caller,
        count(*) AS api_calls,
        count(DISTINCT eventName) AS unique_actions
    FROM cloudtrail_logs
    WHERE {{window}} {{scope}}
        AND NOT regexp_like(coalesce(userIdentity.arn, ''), ':assumed-role/AWSServiceRoleFor[^/]*/')
    GROUP BY userIdentity.arn
    HAVING count(*) > {{threshold}}
),
daily AS (
    SELECT userIdentity.arn AS caller, substr(eventTime, 1, 10) AS day, count(*) AS calls
    FROM cloudtrail_logs
    WHERE {{baseline}} {{scope}}
    GROUP BY 1, 2
),
habit AS (
    SELECT caller, max(calls) AS busiest_day
    FROM daily
    GROUP BY caller
)
SELECT
    c.caller,
    c.api_calls,
    c.unique_actions,
    coalesce(h.busiest_day, 0) AS baseline_busiest_day,
    CASE
        WHEN h.busiest_day IS NULL
            THEN c.caller || ' made ' || CAST(c.api_calls AS varchar) || ' calls with no calls in the baseline'
        ELSE c.caller || ' made ' || CAST(c.api_calls AS varchar) || ' calls, over 3 times its busiest day of the baseline ('
            || CAST(h.busiest_day AS varchar) || ')'
    END AS reason
FROM current_calls c
LEFT JOIN habit h ON h.caller = c.caller
WHERE (h.busiest_day IS NULL AND c.api_calls > 10 * {{threshold}})
    OR (h.busiest_day IS NOT NULL AND c.api_calls > 3 * h.busiest_day)
ORDER BY c.api_calls DESC
