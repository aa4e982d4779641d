-- id: security-group-changes
-- title: Security group changes
-- kind: hunt
-- severity: info
-- tags: seed, network, change, investigation
-- param: since duration = 30d
-- description: Security groups created or deleted, their rules authorized, revoked,
--   modified or redescribed, and groups associated with VPCs or applied to Client VPN
--   networks, newest first. Generalises the seed's "Security Group Changes".
-- The list is every operation of EC2's API (botocore's EC2 model) naming a security group
-- that is not a read (Describe*, Get*, Validate*); tests/test_investigation_queries.py
-- checks it against the model. Groups swapped on an instance or network interface
-- (ModifyInstanceAttribute, ModifyNetworkInterfaceAttribute) are not here: those calls
-- mostly change other attributes.
SELECT
    eventTime,
    userIdentity.arn as changed_by,
    eventName,
    requestParameters
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'ec2.amazonaws.com'
    AND eventName IN (
        'ApplySecurityGroupsToClientVpnTargetNetwork', 'AssociateSecurityGroupVpc',
        'AuthorizeSecurityGroupEgress', 'AuthorizeSecurityGroupIngress', 'CreateSecurityGroup',
        'DeleteSecurityGroup', 'DisassociateSecurityGroupVpc', 'ModifySecurityGroupRules',
        'RevokeSecurityGroupEgress', 'RevokeSecurityGroupIngress',
        'UpdateSecurityGroupRuleDescriptionsEgress',
        'UpdateSecurityGroupRuleDescriptionsIngress'
    )
ORDER BY eventTime DESC
