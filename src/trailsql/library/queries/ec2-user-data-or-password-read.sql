-- id: ec2-user-data-or-password-read
-- title: EC2 user data or Windows password data read, or user data changed
-- kind: detection
-- severity: medium
-- tags: attack.credential-access, attack.discovery, attack.execution, attack.t1552.005
-- techniques: aws.discovery.ec2-download-user-data, aws.credential-access.ec2-get-password-data, aws.execution.ec2-user-data
-- key: actor, eventname
-- description: Instance user data (often holding secrets) or Windows administrator password
--   data read, allowed or denied, or user data replaced (code that runs at the next boot):
--   ModifyInstanceAttribute with userData, or with attribute "userData" and a value (the
--   older form).
SELECT
    CASE
        WHEN eventName = 'GetPasswordData' THEN 'aws.credential-access.ec2-get-password-data'
        WHEN eventName = 'ModifyInstanceAttribute' THEN 'aws.execution.ec2-user-data'
        ELSE 'aws.discovery.ec2-download-user-data'
    END AS technique,
    eventName,
    userIdentity.arn AS actor,
    recipientAccountId AS account_id,
    min(eventTime) AS first_seen,
    count(*) AS calls,
    count(DISTINCT json_extract_scalar(requestParameters, '$.instanceId')) AS instances,
    count_if(errorCode IS NOT NULL) AS denied
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'ec2.amazonaws.com'
    AND (
        eventName = 'GetPasswordData'
        OR (eventName = 'DescribeInstanceAttribute' AND lower(json_extract_scalar(requestParameters, '$.attribute')) = 'userdata')
        OR (eventName = 'ModifyInstanceAttribute' AND (json_extract(requestParameters, '$.userData') IS NOT NULL
                                                       OR lower(json_extract_scalar(requestParameters, '$.attribute')) = 'userdata'))
    )
GROUP BY 1, 2, 3, 4
ORDER BY first_seen
