//! Why an object is refused (reference §9): [`Denial`] names what was found — the field or
//! annotation, the value, what would be accepted — and gives its code; [`Rejection`] adds the
//! object it is about. Every quoted value is bounded by the messages written here, and the
//! object's name is put in front once, where a rejection becomes a message.

use crate::cluster::LookupError;
use crate::format::{MAX_MESSAGE, bounded, list, quote, truncate};
use crate::names;

/// HTTP-like codes of reference §9.
pub const BAD_REQUEST: u16 = 400;
pub const FORBIDDEN: u16 = 403;
pub const HOST_FAILURE: u16 = 500;

/// A denial about an object (`Pod ns/name`, `Deployment ns/name: pod template`, …), or about
/// the request itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub object: Option<String>,
    /// Boxed: rejections travel up every step's `Result`.
    pub denial: Box<Denial>,
}

impl Rejection {
    pub fn code(&self) -> u16 {
        self.denial.code()
    }

    /// The message a user reads: the object, then the denial; under [`MAX_MESSAGE`]
    /// characters whatever the input (reference §9).
    pub fn message(&self) -> String {
        let message = match &self.object {
            Some(object) => format!("{object}: {}", self.denial),
            None => self.denial.to_string(),
        };
        truncate(message, MAX_MESSAGE - 1)
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{} ({})", self.message(), self.code())
    }
}

impl From<Denial> for Rejection {
    fn from(denial: Denial) -> Self {
        Self {
            object: None,
            denial: Box::new(denial),
        }
    }
}

/// Where an object's proxy request comes from, as messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyAsked {
    Annotation,
    InitContainer,
    /// `legacyPodIdentity: migrate` adds it to a pod of AAD Pod Identity (reference §8.3).
    Migration,
}

impl std::fmt::Display for ProxyAsked {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Self::Annotation => write!(f, "annotation {}", names::INJECT_PROXY),
            Self::InitContainer => write!(f, "container {}", names::PROXY_INIT_CONTAINER),
            Self::Migration => f.write_str(
                "the proxy that setting legacyPodIdentity: migrate adds for AAD Pod Identity",
            ),
        }
    }
}

/// Every reason this policy refuses an object, with the facts its message names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    // The request itself.
    #[error("cannot read the admission request: {}", bounded(.0))]
    UnreadableRequest(String),
    #[error("invalid policy settings: {}", bounded(.0))]
    InvalidSettings(String),
    #[error("Pod admission request carries no object")]
    NoPodObject,
    #[error("the request carries no object")]
    NoObject,
    /// The object's `what` (e.g. "its metadata") could not be read.
    #[error("cannot read {what}: {}", bounded(.error))]
    Unreadable { what: &'static str, error: String },
    #[error("{}; expected a Kubernetes Pod", bounded(.what))]
    NotAPod { what: String },

    // Annotations and settings (reference §4, §5).
    #[error("annotation {key} on {holder} has value {}; {accepted}", quote(.value))]
    PodAnnotation {
        key: &'static str,
        holder: String,
        value: String,
        accepted: String,
    },
    #[error("annotation {key} has value {}; {accepted}", quote(.value))]
    Annotation {
        key: &'static str,
        value: String,
        accepted: String,
    },
    #[error(
        "annotation {} has value {}; this client ID is not allowed in namespace {} (setting \
         allowedClientIds)",
        names::CLIENT_ID, quote(.client_id), quote(.namespace)
    )]
    ServiceAccountClientIdNotAllowed {
        client_id: String,
        namespace: String,
    },
    #[error(
        "label {}={} uses AAD Pod Identity, which is retired and no longer maintained; \
         move to Workload Identity: {fix} (rejected by setting legacyPodIdentity: reject)",
        names::LEGACY_POD_IDENTITY_LABEL, bounded(.binding)
    )]
    LegacyPodIdentity { binding: String, fix: String },
    #[error(
        "annotation {annotation} asks for an identity binding, but identity binding is not \
         configured in this policy (setting identityBinding.tokenProxy is empty); set it, or \
         remove the annotation"
    )]
    IdentityBindingNotConfigured { annotation: String },
    #[error("cannot write the token volume: {}", bounded(.0))]
    TokenVolume(String),
    #[error(
        "annotation {} names {}, but the proxy needs the identity: since upstream v1.6.0 it \
         exits without AZURE_TENANT_ID and its postStart probe kills the pod; remove it from \
         the annotation",
        names::SKIP_CONTAINERS,
        names::PROXY_CONTAINER
    )]
    ProxySkipped,

    // The proxy (reference §4.3).
    #[error(
        "{asked}: the proxy cannot be injected into a pod with spec.hostNetwork: true (its \
         init container would rewrite the node's iptables); remove one or the other"
    )]
    ProxyHostNetwork { asked: ProxyAsked },
    #[error(
        "{asked}: the proxy images are Linux-only and this pod has spec.os.name: windows; \
         remove the annotation"
    )]
    ProxyWindows { asked: ProxyAsked },
    #[error(
        "{asked}: pods in namespace {} may not request the proxy (its init container is \
         privileged); allowed namespaces (setting proxy.allowedNamespaces): {}",
        quote(.namespace), list(.allowed)
    )]
    ProxyNamespace {
        asked: ProxyAsked,
        namespace: String,
        allowed: Vec<String>,
    },
    #[error(
        "annotation {} has value {}; expected an integer port from 1 to 65535",
        names::PROXY_PORT, quote(.0)
    )]
    ProxyPort(String),

    // Writing the pod (reference §4.10).
    #[error(
        "container {} already mounts volume {} at {}, where the Workload Identity token volume \
         {} must be mounted; mount it elsewhere, or list the container in annotation {}",
        quote(.container), quote(.other), bounded(.mount_path), bounded(.volume),
        names::SKIP_CONTAINERS
    )]
    MountPathTaken {
        container: String,
        other: String,
        mount_path: String,
        volume: String,
    },

    // Verifying another webhook's injection (reference §10).
    #[error(
        "opted in to Workload Identity (label {}: \"true\") but the Workload Identity webhook \
         did not mutate it (no token volume, no {} in any container), so it would start \
         without an identity; {check} (setting verifyInjection: reject)",
        names::USE_LABEL,
        names::ENV_FEDERATED_TOKEN_FILE
    )]
    NotInjected { check: &'static str },

    // Lookups (reference §4.2, §6, §8).
    #[error(
        "cannot read ServiceAccount {}/{}, which Workload Identity needs for the pod's client \
         ID: {error}",
        bounded(.namespace), bounded(.name)
    )]
    ServiceAccount {
        namespace: String,
        name: String,
        error: LookupError,
    },
    #[error(
        "cannot read SecretProviderClass {}/{} of its Key Vault CSI volume: {error}",
        bounded(.namespace), bounded(.name)
    )]
    SecretProviderClass {
        namespace: String,
        name: String,
        error: LookupError,
    },
    #[error(
        "cannot read {what} to migrate it from AAD Pod Identity (setting legacyPodIdentity: \
         migrate; failing closed): {error}"
    )]
    Migration {
        what: &'static str,
        error: LookupError,
    },

    // Authorization (reference §6).
    #[error(
        "client ID {} (from {from}) is not allowed in namespace {}; allowed (setting \
         allowedClientIds): {}",
        quote(.client_id), quote(.namespace), .allowed
    )]
    ClientIdNotAllowed {
        client_id: String,
        from: String,
        namespace: String,
        allowed: String,
    },
    #[error(
        "{ephemeral}container {} takes AZURE_CLIENT_ID from {how}, which cannot be authorized \
         at admission nor checked against setting allowedClientIds; set it as a literal value",
        quote(.container)
    )]
    IndirectClientId {
        ephemeral: &'static str,
        container: String,
        how: String,
    },
    #[error(
        "uses an identity binding but has no client ID: annotate ServiceAccount {}/{} with {} \
         (or set AZURE_CLIENT_ID in the container)",
        bounded(.namespace), bounded(.service_account), names::CLIENT_ID
    )]
    NoClientId {
        namespace: String,
        service_account: String,
    },
    #[error(
        "volume {} uses the Key Vault CSI driver but names no \
         volumeAttributes.secretProviderClass",
        quote(.0)
    )]
    NoSecretProviderClass(String),
    #[error(
        "SecretProviderClass {class} has parameters.{key} {}, which the Key Vault provider \
         cannot read (it would fail the mount); expected true or false (or 1, t, T, TRUE, True, \
         0, f, F, FALSE, False)",
        quote(.value)
    )]
    KeyVaultFlag {
        class: String,
        key: &'static str,
        value: String,
    },
    #[error(
        "SecretProviderClass {class} turns on more than one of parameters.usePodIdentity, \
         useVMManagedIdentity and useAzureTokenProxy, and the Key Vault provider fails the \
         mount (only one identity mode can be enabled at a time); keep one"
    )]
    KeyVaultModes { class: String },
    #[error(
        "SecretProviderClass {class} uses the Azure token proxy but has no parameters.clientID, \
         and the Key Vault provider fails the mount (clientID is required for identity \
         binding); set it"
    )]
    KeyVaultClientId { class: String },
    // The Key Vault provider's other mount-time rules (reference §12).
    #[error(
        "SecretProviderClass {class} has no parameters.{key}, nor does the pod's volume set it \
         in volumeAttributes, and the Key Vault provider fails the mount ({says}); set it"
    )]
    KeyVaultMissing {
        class: String,
        key: &'static str,
        says: &'static str,
    },
    #[error(
        "SecretProviderClass {class} has parameters.cloudName {}, which the Key Vault provider \
         does not know (it would fail the mount); expected empty (AzurePublicCloud) or, in any \
         case, one of AzurePublicCloud, AzureCloud, AzureChinaCloud, AzureUSGovernmentCloud, \
         AzureUSGovernment, AzureGermanCloud, AzureStackCloud",
        quote(.value)
    )]
    KeyVaultCloudName { class: String, value: String },
    #[error(
        "SecretProviderClass {class} has parameters.keyvaultName {}, which the Key Vault \
         provider refuses (invalid vault name; it would fail the mount); expected 3 to 24 \
         characters of a-z, A-Z, 0-9 and -",
        quote(.value)
    )]
    KeyVaultName { class: String, value: String },
    #[error(
        "cannot check whether ServiceAccount {}/{} may use client ID {} (SubjectAccessReview \
         failed, failing closed): {error}",
        bounded(.namespace), bounded(.service_account), quote(.client_id)
    )]
    ReviewFailed {
        namespace: String,
        service_account: String,
        client_id: String,
        error: LookupError,
    },
    #[error("{0}")]
    ReviewDenied(Box<ReviewDenied>),
}

/// A SubjectAccessReview that denied a ServiceAccount a client ID (reference §6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ServiceAccount {}/{} may not use managed identity {} (from {from}): RBAC does not allow \
     verb {verb:?} on resource {} in API group {group:?}{}. A cluster admin can allow it with \
     this ClusterRole rule, bound to the ServiceAccount:\n{rule}",
    bounded(.namespace), bounded(.service_account), bounded(.client_id), quote(.client_id),
    reason_suffix(.reason)
)]
pub struct ReviewDenied {
    pub namespace: String,
    pub service_account: String,
    pub client_id: String,
    pub from: String,
    pub verb: String,
    pub group: String,
    pub reason: String,
    pub rule: String,
}

fn reason_suffix(reason: &str) -> String {
    match reason.is_empty() {
        true => String::new(),
        false => format!(" ({})", bounded(reason)),
    }
}

impl Denial {
    /// 400 for bad input, 403 for denied authorization, 500 for a host that failed (§9).
    pub fn code(&self) -> u16 {
        use Denial as D;
        match self {
            D::ServiceAccount { error, .. } | D::SecretProviderClass { error, .. } => match error {
                LookupError::NotFound(_) => BAD_REQUEST,
                LookupError::Host(_) | LookupError::Malformed(_) => HOST_FAILURE,
            },
            D::Migration { .. } | D::ReviewFailed { .. } => HOST_FAILURE,
            D::ServiceAccountClientIdNotAllowed { .. }
            | D::ProxyNamespace { .. }
            | D::ClientIdNotAllowed { .. }
            | D::IndirectClientId { .. }
            | D::ReviewDenied { .. } => FORBIDDEN,
            _ => BAD_REQUEST,
        }
    }

    /// This denial, about `object`.
    pub fn of(self, object: &str) -> Rejection {
        Rejection {
            object: Some(object.to_owned()),
            denial: Box::new(self),
        }
    }
}
