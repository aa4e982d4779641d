-- id: ssm-remote-execution
-- title: SSM command sent or session started on instances
-- kind: detection
-- severity: medium
-- tags: attack.execution, attack.t1651, attack.lateral-movement
-- techniques: aws.execution.ssm-send-command, aws.execution.ssm-start-session
-- key: eventid
-- description: Commands run on EC2 instances through Systems Manager (SendCommand) or an
--   interactive session opened on one (StartSession): code execution inside the VPC.
SELECT
    eventTime,
    CASE eventName WHEN 'SendCommand' THEN 'aws.execution.ssm-send-command'
                   ELSE 'aws.execution.ssm-start-session' END AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    coalesce(json_format(json_extract(requestParameters, '$.instanceIds')),
             json_extract_scalar(requestParameters, '$.target')) AS target,
    json_extract_scalar(requestParameters, '$.documentName') AS document,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'ssm.amazonaws.com'
    AND eventName IN ('SendCommand', 'StartSession')
ORDER BY eventTime
