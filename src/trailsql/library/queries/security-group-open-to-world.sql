-- id: security-group-open-to-world
-- title: Security group opened to the whole internet
-- kind: detection
-- severity: high
-- tags: attack.exfiltration, attack.initial-access, attack.t1562.007
-- techniques: aws.exfiltration.ec2-security-group-open-port-22-ingress
-- key: eventid
-- description: An ingress rule allowing any address (a /0 IPv4 or IPv6 range) was added
--   to a security group.
SELECT
    eventTime,
    'aws.exfiltration.ec2-security-group-open-port-22-ingress' AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    json_extract_scalar(requestParameters, '$.groupId') AS target,
    json_extract_scalar(requestParameters, '$.fromPort') AS from_port,
    json_extract_scalar(requestParameters, '$.toPort') AS to_port,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'ec2.amazonaws.com'
    AND eventName IN ('AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules')
    AND regexp_like(requestParameters, '"(cidrIp|cidrIpv6|CidrIpv4|CidrIpv6)"\s*:\s*"[0-9a-fA-F:.]+/0"')
ORDER BY eventTime
