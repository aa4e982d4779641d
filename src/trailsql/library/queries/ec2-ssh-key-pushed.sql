-- id: ec2-ssh-key-pushed
-- title: SSH key pushed to an instance (EC2 Instance Connect, serial console)
-- kind: detection
-- severity: medium
-- tags: attack.lateral-movement, attack.t1021.004
-- techniques: aws.lateral-movement.ec2-instance-connect, aws.lateral-movement.ec2-serial-console-send-ssh-public-key
-- key: eventid
-- description: A one-time SSH public key sent to an instance through EC2 Instance Connect
--   or its serial console, or serial console access switched on for the account.
SELECT
    eventTime,
    CASE WHEN eventName = 'SendSSHPublicKey' THEN 'aws.lateral-movement.ec2-instance-connect'
         ELSE 'aws.lateral-movement.ec2-serial-console-send-ssh-public-key' END AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(requestParameters, '$.instanceId') AS target,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventName IN ('SendSSHPublicKey', 'SendSerialConsoleSSHPublicKey', 'EnableSerialConsoleAccess')
    AND errorCode IS NULL
ORDER BY eventTime
