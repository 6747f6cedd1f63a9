//! What `authorize` is given besides the pod's [`Subject`](crate::object::Subject): every
//! client ID it would use, with where it comes from ([`Claims`], [`Source`]).

use crate::format::quote;
use crate::names;

/// How a container takes a client ID that nobody can read at admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indirect {
    ValueFrom,
    EnvFrom,
}

impl std::fmt::Display for Indirect {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            Self::ValueFrom => "valueFrom",
            Self::EnvFrom => "envFrom",
        })
    }
}

/// A Key Vault CSI volume of a pod: its class, and the `volumeAttributes` the CSI driver lays
/// over the class's parameters before it calls the provider (reference §6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsiVolume {
    pub name: String,
    /// `volumeAttributes.secretProviderClass`, when set and not empty.
    pub class: Option<String>,
    /// Every other attribute.
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// Where a client ID comes from, for messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    ServiceAccount(String),
    Container(String),
    /// A container added later through `pods/ephemeralcontainers` (reference §4.12).
    EphemeralContainer(String),
    SecretProviderClass(String),
    /// A pod migrated from AAD Pod Identity (reference §8).
    AzureIdentity(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Self::ServiceAccount(sa) => {
                write!(f, "annotation {} of ServiceAccount {sa}", names::CLIENT_ID)
            }
            Self::Container(c) => write!(f, "env AZURE_CLIENT_ID of container {}", quote(c)),
            Self::EphemeralContainer(c) => {
                write!(f, "env AZURE_CLIENT_ID of ephemeral container {}", quote(c))
            }
            Self::AzureIdentity(identity) => {
                write!(f, "spec.clientID of AzureIdentity {}", quote(identity))
            }
            Self::SecretProviderClass(spc) => {
                write!(
                    f,
                    "parameters.clientID of SecretProviderClass {}",
                    quote(spc)
                )
            }
        }
    }
}

/// Every client ID a pod would use and which checks they need: computed once, carried by the
/// plan of an opted-in pod, and the only input of [`authorize`] besides the [`Subject`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Claims {
    /// Identity binding requested, by annotation or by a hand-written token volume: the
    /// identity-binding review applies.
    pub identity_binding: bool,
    /// The pod uses a Workload Identity or identity-binding token (it is labelled, or writes
    /// one itself): a client ID taken from `valueFrom`/`envFrom` defeats `allowedClientIds`.
    pub uses_tokens: bool,
    /// These are every client ID the pod uses (a CREATE), not only those of containers added
    /// later (reference §4.12): an identity-binding pod with none of them at all is refused.
    pub whole_pod: bool,
    /// The ServiceAccount's client ID and every literal `AZURE_CLIENT_ID`, each once with where
    /// it was first seen, in the order they are reviewed (reference §6): the ServiceAccount's, then
    /// literal values by container (init containers first) and entry.
    pub client_ids: Vec<(String, Source)>,
    /// `(volume, SecretProviderClass name)` of every Key Vault CSI volume.
    pub csi_volumes: Vec<CsiVolume>,
    /// `(container, how)` of client IDs taken from `valueFrom` or `envFrom`, which nobody can
    /// read at admission.
    pub indirect: Vec<(Source, Indirect)>,
    /// The client IDs of `client_ids`, to claim each once.
    claimed: std::collections::HashSet<String>,
}

impl Claims {
    /// Claims with no client ID yet; `crate::pod`'s constructor fills them from a pod's facts.
    pub fn new(
        identity_binding: bool,
        uses_tokens: bool,
        whole_pod: bool,
        csi_volumes: Vec<CsiVolume>,
    ) -> Self {
        Self {
            identity_binding,
            uses_tokens,
            whole_pod,
            csi_volumes,
            ..Self::default()
        }
    }

    /// Claim `id`, unless it is claimed already (the first source is kept).
    pub fn add(&mut self, id: &str, source: Source) {
        // A set, not a scan of the list: the work stays linear in the pod's size (§9).
        if self.claimed.insert(id.to_owned()) {
            self.client_ids.push((id.to_owned(), source));
        }
    }

    /// The ServiceAccount's client ID and the ServiceAccount, when it has one.
    pub(super) fn service_account_client_id(&self) -> Option<(&str, &str)> {
        self.client_ids
            .iter()
            .find_map(|(id, source)| match source {
                Source::ServiceAccount(sa) => Some((id.as_str(), sa.as_str())),
                _ => None,
            })
    }
}
