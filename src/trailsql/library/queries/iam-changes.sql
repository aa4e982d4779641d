-- id: iam-changes
-- title: IAM changes: every IAM write
-- kind: hunt
-- severity: info
-- tags: seed, iam, change, investigation
-- param: since duration = 30d
-- description: Every IAM write call (users, groups, roles and their trust policies,
--   policies and versions, access keys, passwords, MFA, certificates, identity providers,
--   tags, account settings), newest first. Generalises the seed's "IAM Changes".
-- The list is every operation of IAM's API (botocore's IAM model) that is not a read:
-- all but Get*, List*, Generate* (reports) and Simulate*. tests/test_investigation_queries.py
-- fails when botocore's model and this list part; IAM's CloudTrail event names are its
-- operation names.
SELECT
    eventTime,
    userIdentity.arn as changed_by,
    eventName,
    requestParameters
FROM cloudtrail_logs
WHERE {{window}} {{scope}}
    AND eventSource = 'iam.amazonaws.com'
    AND eventName IN (
        'AcceptDelegationRequest', 'AcquireRole', 'AddClientIDToOpenIDConnectProvider',
        'AddRoleToInstanceProfile', 'AddUserToGroup', 'AssociateDelegationRequest',
        'AttachGroupPolicy', 'AttachRolePolicy', 'AttachUserPolicy', 'ChangePassword',
        'CreateAccessKey', 'CreateAccountAlias', 'CreateDelegationRequest', 'CreateGroup',
        'CreateInstanceProfile', 'CreateLoginProfile', 'CreateOpenIDConnectProvider',
        'CreatePolicy', 'CreatePolicyVersion', 'CreateRole', 'CreateSAMLProvider',
        'CreateServiceLinkedRole', 'CreateServiceSpecificCredential', 'CreateUser',
        'CreateVirtualMFADevice', 'DeactivateMFADevice', 'DeleteAccessKey',
        'DeleteAccountAlias', 'DeleteAccountPasswordPolicy', 'DeleteGroup', 'DeleteGroupPolicy',
        'DeleteInstanceProfile', 'DeleteLoginProfile', 'DeleteOpenIDConnectProvider',
        'DeletePolicy', 'DeletePolicyVersion', 'DeleteRole', 'DeleteRolePermissionsBoundary',
        'DeleteRolePolicy', 'DeleteSAMLProvider', 'DeleteSSHPublicKey',
        'DeleteServerCertificate', 'DeleteServiceLinkedRole', 'DeleteServiceSpecificCredential',
        'DeleteSigningCertificate', 'DeleteUser', 'DeleteUserPermissionsBoundary',
        'DeleteUserPolicy', 'DeleteVirtualMFADevice', 'DetachGroupPolicy', 'DetachRolePolicy',
        'DetachUserPolicy', 'DisableOrganizationsRootCredentialsManagement',
        'DisableOrganizationsRootSessions', 'DisableOutboundWebIdentityFederation',
        'EnableMFADevice', 'EnableOrganizationsRootCredentialsManagement',
        'EnableOrganizationsRootSessions', 'EnableOutboundWebIdentityFederation',
        'PutAccountProperties', 'PutGroupPolicy', 'PutRolePermissionsBoundary', 'PutRolePolicy',
        'PutUserPermissionsBoundary', 'PutUserPolicy', 'RejectDelegationRequest',
        'RemoveClientIDFromOpenIDConnectProvider', 'RemoveRoleFromInstanceProfile',
        'RemoveUserFromGroup', 'ResetServiceSpecificCredential', 'ResyncMFADevice',
        'SendDelegationToken', 'SetDefaultPolicyVersion', 'SetSecurityTokenServicePreferences',
        'TagInstanceProfile', 'TagMFADevice', 'TagOpenIDConnectProvider', 'TagPolicy',
        'TagRole', 'TagSAMLProvider', 'TagServerCertificate', 'TagUser', 'UntagInstanceProfile',
        'UntagMFADevice', 'UntagOpenIDConnectProvider', 'UntagPolicy', 'UntagRole',
        'UntagSAMLProvider', 'UntagServerCertificate', 'UntagUser', 'UpdateAccessKey',
        'UpdateAccountPasswordPolicy', 'UpdateAssumeRolePolicy', 'UpdateDelegationRequest',
        'UpdateGroup', 'UpdateLoginProfile', 'UpdateOpenIDConnectProvider',
        'UpdateOpenIDConnectProviderThumbprint', 'UpdateRole', 'UpdateRoleDescription',
        'UpdateSAMLProvider', 'UpdateSSHPublicKey', 'UpdateServerCertificate',
        'UpdateServiceSpecificCredential', 'UpdateSigningCertificate', 'UpdateUser',
        'UploadSSHPublicKey', 'UploadServerCertificate', 'UploadSigningCertificate'
    )
ORDER BY eventTime DESC
