-- id: security-logging-disabled
-- title: Security logging or monitoring disabled (GuardDuty, Config, flow logs, DNS logs, Bedrock logs)
-- kind: detection
-- severity: high
-- tags: attack.defense-evasion, attack.t1562.001, attack.t1562.008
-- techniques: aws.defense-evasion.vpc-remove-flow-logs, aws.defense-evasion.dns-delete-logs, aws.defense-evasion.bedrock-model-invocation-logging-delete
-- key: eventid
-- description: GuardDuty detectors deleted or disabled, AWS Config recorders stopped or
--   deleted, VPC flow logs, Route 53 Resolver query logs or Bedrock model invocation logging
--   deleted: monitoring taken away.
SELECT
    eventTime,
    CASE
        WHEN eventName = 'DeleteFlowLogs' THEN 'aws.defense-evasion.vpc-remove-flow-logs'
        WHEN eventName LIKE '%ResolverQueryLog%' THEN 'aws.defense-evasion.dns-delete-logs'
        WHEN eventName = 'DeleteModelInvocationLoggingConfiguration' THEN 'aws.defense-evasion.bedrock-model-invocation-logging-delete'
        ELSE 'attack.t1562.001'
    END AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    awsRegion,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND errorCode IS NULL
    AND (
        eventName IN ('DeleteFlowLogs', 'DeleteResolverQueryLogConfig', 'DisassociateResolverQueryLogConfig',
                      'DeleteModelInvocationLoggingConfiguration', 'DeleteDetector', 'DisassociateFromMasterAccount',
                      'StopConfigurationRecorder', 'DeleteConfigurationRecorder', 'DeleteDeliveryChannel')
        OR (eventSource = 'guardduty.amazonaws.com' AND eventName = 'UpdateDetector'
            AND json_extract_scalar(requestParameters, '$.enable') = 'false')
    )
ORDER BY eventTime
