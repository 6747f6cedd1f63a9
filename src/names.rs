//! Every label, annotation, env var, volume and container name of reference §1–§2, in one place.

/// Prefix shared by every Workload Identity label and annotation.
pub const PREFIX: &str = "azure.workload.identity/";

/// Pod label that opts a pod in; its value must be exactly `"true"`.
pub const USE_LABEL: &str = "azure.workload.identity/use";
/// ServiceAccount annotation: the managed identity's client ID.
pub const CLIENT_ID: &str = "azure.workload.identity/client-id";
/// The same keys without their prefix, where a warning must be short (reference §9).
pub const CLIENT_ID_SHORT: &str = "client-id";
pub const INJECT_PROXY_SHORT: &str = "inject-proxy-sidecar";
/// ServiceAccount annotation: the tenant ID (overrides the `tenantId` setting).
pub const TENANT_ID: &str = "azure.workload.identity/tenant-id";
/// ServiceAccount and pod annotation (pod wins): projected token lifetime in seconds.
pub const TOKEN_EXPIRATION: &str = "azure.workload.identity/service-account-token-expiration";
/// Pod annotation: `;`-separated container names that get nothing injected.
pub const SKIP_CONTAINERS: &str = "azure.workload.identity/skip-containers";
/// Pod annotation: inject the IMDS proxy init container and sidecar.
pub const INJECT_PROXY: &str = "azure.workload.identity/inject-proxy-sidecar";
/// Pod annotation: the proxy's port.
pub const PROXY_PORT: &str = "azure.workload.identity/proxy-sidecar-port";
/// Prefix of the identity-binding pod annotation; the suffix comes from the settings.
pub const USE_PREFIX: &str = "azure.workload.identity/use-";

/// Label of the deprecated AAD Pod Identity.
pub const LEGACY_POD_IDENTITY_LABEL: &str = "aadpodidbinding";

pub const ENV_CLIENT_ID: &str = "AZURE_CLIENT_ID";
pub const ENV_TENANT_ID: &str = "AZURE_TENANT_ID";
pub const ENV_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
pub const ENV_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
pub const ENV_TOKEN_PROXY: &str = "AZURE_KUBERNETES_TOKEN_PROXY";
pub const ENV_SNI_NAME: &str = "AZURE_KUBERNETES_SNI_NAME";
pub const ENV_CA_FILE: &str = "AZURE_KUBERNETES_CA_FILE";
pub const ENV_CA_DATA: &str = "AZURE_KUBERNETES_CA_DATA";
pub const ENV_PROXY_PORT: &str = "PROXY_PORT";

pub const PROXY_INIT_CONTAINER: &str = "azwi-proxy-init";
pub const PROXY_CONTAINER: &str = "azwi-proxy";

/// Token lifetime bounds and default, in seconds (reference §1).
pub const MIN_TOKEN_EXPIRATION: i64 = 3600;
pub const MAX_TOKEN_EXPIRATION: i64 = 86400;
pub const DEFAULT_TOKEN_EXPIRATION: i64 = 3600;
pub const DEFAULT_PROXY_PORT: u16 = 8000;

/// `classic` layout (reference §2).
pub const CLASSIC_VOLUME: &str = "azure-identity-token";
pub const CLASSIC_MOUNT_PATH: &str = "/var/run/secrets/azure/tokens";
pub const CLASSIC_TOKEN_PATH: &str = "azure-identity-token";
pub const CLASSIC_CA_PATH: &str = "ca.crt";

/// `v1.6` layout (reference §2).
pub const V16_VOLUME_PREFIX: &str = "azure-workload-identity-reserved-";
pub const V16_MOUNT_PATH: &str = "/var/run/secrets/azure/wi";
pub const V16_TOKEN_PATH: &str = "token/azure-identity-token";
pub const V16_CA_PATH: &str = "ca-cert/ca.crt";

/// Key of the CA certificate in the identity-binding ConfigMap.
pub const CA_CONFIGMAP_KEY: &str = "ca.crt";

/// Key Vault CSI driver and its SecretProviderClass.
pub const CSI_DRIVER: &str = "secrets-store.csi.k8s.io";
pub const SPC_GROUP: &str = "secrets-store.csi.x-k8s.io";
pub const SPC_API_VERSION: &str = "secrets-store.csi.x-k8s.io/v1";
pub const SPC_KIND: &str = "SecretProviderClass";

/// AAD Pod Identity's API (reference §8, `legacyPodIdentity: migrate`).
pub const AAD_API_VERSION: &str = "aadpodidentity.k8s.io/v1";
pub const AAD_BINDING_KIND: &str = "AzureIdentityBinding";
pub const AAD_IDENTITY_KIND: &str = "AzureIdentity";
/// AzureIdentity annotation whose value `namespaced` limits it to its own namespace.
pub const AAD_BEHAVIOR: &str = "aadpodidentity.k8s.io/Behavior";
