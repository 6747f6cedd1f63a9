//! The token volume layouts of reference §2 (`classic`, `v1.6`, `v1.6.1`): volume name, mount
//! path, file paths, and the projected volume itself.

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::names;
use crate::settings::{CaSource, TokenVolumeLayout};

/// Names and paths of the token volume for one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub volume_name: String,
    pub mount_path: String,
    pub token_path: &'static str,
    pub ca_path: &'static str,
}

/// A token volume an earlier webhook pass wrote: a volume named with the reserved prefix, and
/// where the pod's containers mount it (the first mount found), if they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    pub volume_name: String,
    pub mount_path: Option<String>,
}

impl Layout {
    /// `hash_name` is the pod name upstream hashes (see `Metadata::hash_name`). `earlier`, a
    /// reserved volume the pod already has, is adopted (reference §2): its name, and the mount path
    /// its mounts use, so that the `AZURE_FEDERATED_TOKEN_FILE` an earlier pass wrote stays
    /// true whatever hash it was named with.
    pub fn new(layout: TokenVolumeLayout, hash_name: &str, earlier: Option<&Reserved>) -> Self {
        let hashed = |mount_path: fn(&str) -> String| {
            let (volume_name, mount_path) = match earlier {
                Some(Reserved {
                    volume_name,
                    mount_path: found,
                }) => (
                    volume_name.clone(),
                    found.clone().unwrap_or_else(|| mount_path(volume_name)),
                ),
                None => {
                    let name = v16_volume_name(hash_name);
                    let path = mount_path(&name);
                    (name, path)
                }
            };
            Self {
                volume_name,
                mount_path,
                token_path: names::V16_TOKEN_PATH,
                ca_path: names::V16_CA_PATH,
            }
        };
        let classic = |mount_path: Option<&String>| Self {
            volume_name: names::CLASSIC_VOLUME.to_owned(),
            mount_path: mount_path
                .map_or(names::CLASSIC_MOUNT_PATH, String::as_str)
                .to_owned(),
            token_path: names::CLASSIC_TOKEN_PATH,
            ca_path: names::CLASSIC_CA_PATH,
        };
        match (layout, earlier) {
            (TokenVolumeLayout::Classic, Some(found))
                if found.volume_name == names::CLASSIC_VOLUME =>
            {
                classic(None)
            }
            // An earlier pass's classic volume (upstream up to v1.5, or this policy before a
            // layout change) is kept under every layout, with the paths that pass wrote.
            (_, Some(found)) if found.volume_name == names::CLASSIC_VOLUME => {
                classic(found.mount_path.as_ref())
            }
            // The invariant (one token volume) holds in `classic` too: an earlier pass's
            // reserved volume is kept, with the paths that pass wrote.
            (TokenVolumeLayout::Classic, Some(_)) => hashed(|_| names::V16_MOUNT_PATH.to_owned()),
            (TokenVolumeLayout::Classic, None) => classic(None),
            (TokenVolumeLayout::V16, _) => hashed(|_| names::V16_MOUNT_PATH.to_owned()),
            // Upstream v1.6.1 (PR #1749): the mount path carries the volume's hash too.
            (TokenVolumeLayout::V161, _) => hashed(|volume| {
                let hash = volume
                    .strip_prefix(names::V16_VOLUME_PREFIX)
                    .unwrap_or(volume);
                format!("{}/{hash}", names::V16_MOUNT_PATH)
            }),
        }
    }

    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub fn token_file(&self) -> String {
        format!("{}/{}", self.mount_path, self.token_path)
    }

    /// `AZURE_KUBERNETES_CA_FILE`.
    pub fn ca_file(&self) -> String {
        format!("{}/{}", self.mount_path, self.ca_path)
    }

    /// The read-only mount every injected container gets.
    pub fn mount(&self) -> Value {
        json!({ "name": self.volume_name, "mountPath": self.mount_path, "readOnly": true })
    }

    /// The projected volume: the token, plus the CA for identity-binding pods whose CA comes
    /// from a ConfigMap or a ClusterTrustBundle.
    pub fn volume<'l>(
        &'l self,
        expiration: i64,
        audience: &'l str,
        ca: Option<CaSource<'l>>,
    ) -> Volume<'l> {
        let mut sources = vec![Source::ServiceAccountToken {
            path: self.token_path,
            expiration_seconds: expiration,
            audience,
        }];
        match ca {
            Some(CaSource::ConfigMap(name)) => sources.push(Source::ConfigMap {
                name,
                items: [KeyToPath {
                    key: names::CA_CONFIGMAP_KEY,
                    path: self.ca_path,
                }],
                optional: false,
            }),
            Some(CaSource::ClusterTrustBundle {
                signer_name,
                label_selector,
            }) => sources.push(Source::ClusterTrustBundle {
                signer_name,
                // Deviation (reference §2): an omitted selector matches nothing; `{}` matches all.
                label_selector: label_selector.map_or_else(|| json!({}), |s| json!(s)),
                path: self.ca_path,
                optional: false,
            }),
            Some(CaSource::Data(_) | CaSource::None) | None => {}
        }
        Volume {
            name: &self.volume_name,
            projected: Projected { sources },
        }
    }
}

/// The projected token volume, serialized as the API server would.
#[derive(Debug, Serialize)]
pub struct Volume<'l> {
    name: &'l str,
    projected: Projected<'l>,
}

#[derive(Debug, Serialize)]
struct Projected<'l> {
    sources: Vec<Source<'l>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
enum Source<'l> {
    ServiceAccountToken {
        path: &'l str,
        expiration_seconds: i64,
        audience: &'l str,
    },
    ConfigMap {
        name: &'l str,
        items: [KeyToPath<'l>; 1],
        optional: bool,
    },
    ClusterTrustBundle {
        signer_name: &'l str,
        label_selector: Value,
        path: &'l str,
        optional: bool,
    },
}

#[derive(Debug, Serialize)]
struct KeyToPath<'l> {
    key: &'l str,
    path: &'l str,
}

/// `azure-workload-identity-reserved-` + the first 30 hex characters of sha256(pod name):
/// 63 characters, the longest volume name Kubernetes accepts.
pub fn v16_volume_name(hash_name: &str) -> String {
    let digest = Sha256::digest(hash_name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{}", names::V16_VOLUME_PREFIX, &hex[..30])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Expected names computed from upstream v1.6.0's buildVolumeName (sha256, 30 hex chars).
    #[rstest]
    #[case::plain_name(
        "pod",
        "azure-workload-identity-reserved-425c89ed5bb78a7623fae60fd8a6f6"
    )]
    #[case::generate_name(
        "nginx- (prefix)",
        "azure-workload-identity-reserved-a593e7a20a167d3f74f090069e6130"
    )]
    #[case::no_name(
        " (prefix)",
        "azure-workload-identity-reserved-7ae265465cf68a19ccd3c91d70dc31"
    )]
    #[case::replica_set_pod(
        "my-app-7d9f8b7c5d-x2x4z",
        "azure-workload-identity-reserved-6122eab187c21e0bee0433f732a585"
    )]
    fn v16_volume_name_matches_upstream(#[case] pod: &str, #[case] expected: &str) {
        assert_eq!(v16_volume_name(pod), expected);
        assert_eq!(expected.len(), 63);
    }

    #[test]
    fn classic_layout_paths() {
        let layout = Layout::new(TokenVolumeLayout::Classic, "pod", None);
        assert_eq!(layout.volume_name, "azure-identity-token");
        assert_eq!(
            layout.token_file(),
            "/var/run/secrets/azure/tokens/azure-identity-token"
        );
        assert_eq!(layout.ca_file(), "/var/run/secrets/azure/tokens/ca.crt");
    }

    #[test]
    fn v16_layout_paths() {
        let layout = Layout::new(TokenVolumeLayout::V16, "pod", None);
        assert_eq!(
            layout.token_file(),
            "/var/run/secrets/azure/wi/token/azure-identity-token"
        );
        assert_eq!(layout.ca_file(), "/var/run/secrets/azure/wi/ca-cert/ca.crt");
    }

    #[test]
    fn spec_2_v161_layout_mounts_at_the_hash() {
        let layout = Layout::new(TokenVolumeLayout::V161, "pod", None);
        assert_eq!(layout.volume_name, v16_volume_name("pod"));
        assert_eq!(
            layout.token_file(),
            "/var/run/secrets/azure/wi/425c89ed5bb78a7623fae60fd8a6f6/token/azure-identity-token"
        );
    }

    #[rstest]
    #[case::v16_keeps_the_fixed_path(TokenVolumeLayout::V16, None, "/var/run/secrets/azure/wi")]
    #[case::v161_from_the_adopted_hash(
        TokenVolumeLayout::V161,
        None,
        "/var/run/secrets/azure/wi/0123"
    )]
    #[case::v161_where_the_earlier_pass_mounted_it(
        TokenVolumeLayout::V161,
        Some("/var/run/secrets/azure/wi"),
        "/var/run/secrets/azure/wi"
    )]
    fn spec_2_reserved_volume_of_another_hash_is_adopted(
        #[case] layout: TokenVolumeLayout,
        #[case] mounted: Option<&str>,
        #[case] mount_path: &str,
    ) {
        let earlier = Reserved {
            volume_name: "azure-workload-identity-reserved-0123".into(),
            mount_path: mounted.map(str::to_owned),
        };
        let layout = Layout::new(layout, "pod", Some(&earlier));
        assert_eq!(layout.volume_name, earlier.volume_name);
        assert_eq!(layout.mount_path, mount_path);
    }

    #[test]
    fn trust_bundle_without_selector_selects_every_bundle() {
        let layout = Layout::new(TokenVolumeLayout::V16, "pod", None);
        let volume = layout.volume(
            3600,
            "aud",
            Some(CaSource::ClusterTrustBundle {
                signer_name: "example.com/s",
                label_selector: None,
            }),
        );
        let volume = serde_json::to_value(volume).unwrap_or_default();
        assert_eq!(
            volume["projected"]["sources"][1]["clusterTrustBundle"],
            json!({ "signerName": "example.com/s", "labelSelector": {}, "path": "ca-cert/ca.crt", "optional": false })
        );
    }
}
