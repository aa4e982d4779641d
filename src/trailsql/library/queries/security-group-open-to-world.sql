-- id: security-group-open-to-world
-- title: Security group opened to the whole internet
-- kind: detection
-- severity: high
-- tags: attack.exfiltration, attack.initial-access, attack.t1562.007
-- techniques: aws.exfiltration.ec2-security-group-open-port-22-ingress
-- key: eventid
-- description: An ingress rule allowing any address (a /0 IPv4 or IPv6 range) was added
--   to a security group: AuthorizeSecurityGroupIngress with ipPermissions (items or a
--   list) holding ipRanges cidrIp or ipv6Ranges cidrIpv6, the old top-level cidrIp form,
--   or ModifySecurityGroupRules setting a rule's CidrIpv4 or CidrIpv6. Failed calls are
--   left out.
SELECT
    eventTime,
    'aws.exfiltration.ec2-security-group-open-port-22-ingress' AS technique,
    eventName,
    userIdentity.arn AS actor,
    sourceIPAddress,
    recipientAccountId AS account_id,
    coalesce(json_extract_scalar(requestParameters, '$.groupId'),
             json_extract_scalar(requestParameters, '$.ModifySecurityGroupRulesRequest.GroupId'),
             json_extract_scalar(requestParameters, '$.groupName')) AS target,
    coalesce(json_extract_scalar(requestParameters, '$.fromPort'),
             json_extract_scalar(requestParameters, '$.ipPermissions.items[0].fromPort'),
             json_extract_scalar(requestParameters, '$.ipPermissions[0].fromPort'),
             json_extract_scalar(requestParameters, '$.ModifySecurityGroupRulesRequest.SecurityGroupRule.SecurityGroupRule.FromPort')) AS from_port,
    coalesce(json_extract_scalar(requestParameters, '$.toPort'),
             json_extract_scalar(requestParameters, '$.ipPermissions.items[0].toPort'),
             json_extract_scalar(requestParameters, '$.ipPermissions[0].toPort'),
             json_extract_scalar(requestParameters, '$.ModifySecurityGroupRulesRequest.SecurityGroupRule.SecurityGroupRule.ToPort')) AS to_port,
    errorCode,
    eventID
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'ec2.amazonaws.com'
    AND eventName IN ('AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules')
    AND errorCode IS NULL
    -- any key naming a CIDR (cidrIp, cidrIpv6, CidrIpv4, CidrIpv6, in any case), its value a /0
    AND regexp_like(requestParameters, '(?i)\\?"cidr(ip|ipv4|ipv6)?\\?"\s*:\s*\\?"\s*[0-9a-f:.]+/0+\\?"')
ORDER BY eventTime
