//! What `authorize` is given besides the pod's [`Subject`](crate::object::Subject): every
//! client ID it would use, with where it comes from ([`Claims`], [`Source`]).

use std::collections::BTreeMap;

use crate::cluster::ServiceAccount;
use crate::format::quote;
use crate::names;

/// Where a client ID comes from, for messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    ServiceAccount(String),
    Container(String),
    SecretProviderClass(String),
    /// A pod migrated from AAD Pod Identity (SPEC §8).
    AzureIdentity(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Self::ServiceAccount(sa) => {
                write!(f, "annotation {} of ServiceAccount {sa}", names::CLIENT_ID)
            }
            Self::Container(c) => write!(f, "env AZURE_CLIENT_ID of container {}", quote(c)),
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
    /// The ServiceAccount's client ID and every literal `AZURE_CLIENT_ID`, each with where it
    /// was first seen.
    pub client_ids: BTreeMap<String, Source>,
    /// `(volume, SecretProviderClass name)` of every Key Vault CSI volume.
    pub csi_volumes: Vec<(String, Option<String>)>,
    /// `(container, how)` of client IDs taken from `valueFrom` or `envFrom`, which nobody can
    /// read at admission.
    pub indirect: Vec<(String, &'static str)>,
}

impl Claims {
    /// `sa` is the pod's ServiceAccount when it was read; `literal` the `(container, value)` of
    /// every literal, non-empty `AZURE_CLIENT_ID`.
    pub fn new(
        identity_binding: bool,
        sa: Option<&ServiceAccount>,
        literal: &[(String, String)],
        csi_volumes: Vec<(String, Option<String>)>,
    ) -> Self {
        let mut client_ids = BTreeMap::new();
        if let Some(sa) = sa
            && let Some(id) = sa.annotation(names::CLIENT_ID).filter(|v| !v.is_empty())
        {
            client_ids.insert(
                id.to_owned(),
                Source::ServiceAccount(format!("{}/{}", sa.namespace, sa.name)),
            );
        }
        for (container, id) in literal {
            client_ids
                .entry(id.clone())
                .or_insert_with(|| Source::Container(container.clone()));
        }
        Self {
            identity_binding,
            client_ids,
            csi_volumes,
            indirect: Vec::new(),
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
