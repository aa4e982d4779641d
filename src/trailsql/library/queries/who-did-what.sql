-- id: who-did-what
-- title: Who did what: a principal's write actions
-- kind: hunt
-- severity: info
-- tags: seed, investigation
-- param: since duration = 24h
-- param: user string
-- key: eventtime, eventname
-- description: Every write action (readOnly false) in the window by one principal, newest
--   first. user is an IAM user name, a role name, a role session name (an SSO user's
--   email or name: the session of their AWSReservedSSO_* role), an access key id (AKIA.../ASIA...), a principal id or an ARN; * matches any run of
--   characters (arn:aws:sts::*:assumed-role/Admin/*, *@example.com). Case counts, as in
--   CloudTrail. Generalises the seed's "Who Did What Recently".
-- The value becomes a LIKE pattern: \ % and _ are escaped so they match themselves, then
-- * turns into %. It is matched against each name CloudTrail records for the caller; the
-- session name is the principal id's part after its first ':' (the whole id when it has
-- none, as an IAM user's). sessionContext.sourceIdentity is left out: the CloudTrail table
-- of AWS's documentation (and the seed's) has no such field, and Athena would fail the query.
SELECT
    eventTime,
    eventSource,
    eventName,
    sourceIPAddress,
    errorCode
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND readOnly = 'false'
    AND any_match(
        ARRAY[
            userIdentity.arn,
            userIdentity.userName,
            userIdentity.principalId,
            substr(userIdentity.principalId, strpos(userIdentity.principalId, ':') + 1),
            userIdentity.accessKeyId,
            userIdentity.sessionContext.sessionIssuer.userName,
            userIdentity.sessionContext.sessionIssuer.arn
        ],
        name -> name LIKE replace(replace(replace(replace({{user}}, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%') ESCAPE '\'
    )
ORDER BY eventTime DESC
