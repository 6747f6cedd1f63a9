//! What the pod rules know about one pod or pod template, read once from its document.

use super::layout::Reserved;
use crate::authorization::Subject;
use crate::json::Node;
use crate::names;
use crate::object::pod::PodHead;

/// `(container, how)`: a container whose `AZURE_CLIENT_ID` cannot be read at admission.
pub(crate) type Indirect = (String, &'static str);

/// What the later steps know about one pod or pod template, read once from its document.
pub(crate) struct PodFacts<'p> {
    pub head: &'p PodHead<'p>,
    pub namespace: &'p str,
    /// How rejections start: `Pod ns/name`, or `Deployment ns/name: pod template`.
    pub display: &'p str,
    /// How warnings start: `Pod name`, or `Deployment name template`.
    pub brief: &'p str,
    pub host_network: bool,
    pub windows: bool,
    /// `(container, value)` of every literal, non-empty `AZURE_CLIENT_ID`.
    pub literal_client_ids: Vec<(String, String)>,
    /// `(container, how)` of every container that takes `AZURE_CLIENT_ID` from `valueFrom`, or
    /// may take it from `envFrom` (it defines none in `env`): client IDs nobody can read at
    /// admission (SPEC §4.11).
    pub indirect_client_ids: Vec<Indirect>,
    /// The token volume of an earlier webhook pass, when the pod has one (SPEC §2).
    pub reserved: Option<Reserved>,
}

impl<'p> PodFacts<'p> {
    /// `pod` read to the full spec shape.
    pub fn new(
        head: &'p PodHead<'p>,
        namespace: &'p str,
        (display, brief): (&'p str, &'p str),
        pod: &Node,
    ) -> Self {
        let spec = pod.get("spec");
        let (literal_client_ids, indirect_client_ids) = client_ids(pod);
        Self {
            head,
            namespace,
            display,
            brief,
            host_network: matches!(
                spec.and_then(|s| s.get("hostNetwork")),
                Some(Node::Bool(true))
            ),
            windows: spec.and_then(|s| s.get("os")?.get("name")?.as_str()) == Some("windows"),
            literal_client_ids,
            indirect_client_ids,
            reserved: reserved(head, pod),
        }
    }

    /// `(volume, SecretProviderClass)` of every Key Vault CSI volume.
    pub fn csi_volumes(&self) -> Vec<(String, Option<String>)> {
        self.head
            .csi_provider_classes()
            .map(|(v, c)| (v.to_owned(), c.map(str::to_owned)))
            .collect()
    }

    pub fn subject(&self) -> Subject<'_> {
        Subject {
            object: self.display,
            brief: self.brief,
            namespace: self.namespace,
            service_account: self.head.service_account(),
        }
    }
}

/// Every container of the pod, init containers first, as JSON objects.
pub(super) fn containers<'n, 'a>(pod: &'n Node<'a>) -> impl Iterator<Item = &'n Node<'a>> {
    ["initContainers", "containers"]
        .into_iter()
        .filter_map(|list| pod.get("spec")?.get(list)?.as_list())
        .flatten()
        .filter(|c| c.is_object())
}

/// The first volume named with the reserved prefix, and where a container mounts it.
fn reserved(head: &PodHead, pod: &Node) -> Option<Reserved> {
    let volume = head
        .spec
        .volumes
        .iter()
        .find(|v| v.name.starts_with(names::V16_VOLUME_PREFIX))?;
    let name = volume.name.as_str();
    let mount_path = containers(pod)
        .filter_map(|c| c.get("volumeMounts")?.as_list())
        .flatten()
        .find(|m| m.name() == Some(name))
        .and_then(|m| m.get("mountPath")?.as_str())
        .map(str::to_owned);
    Some(Reserved {
        volume_name: name.to_owned(),
        mount_path,
    })
}

/// [`PodFacts::literal_client_ids`] and [`PodFacts::indirect_client_ids`], in one pass over
/// the containers and their env.
fn client_ids(pod: &Node) -> (Vec<(String, String)>, Vec<Indirect>) {
    let mut literal = Vec::new();
    let mut indirect = Vec::new();
    for container in containers(pod) {
        let name = || container.name().unwrap_or_default().to_owned();
        let mut own = None;
        for var in container
            .get("env")
            .and_then(Node::as_list)
            .into_iter()
            .flatten()
            .filter(|var| var.name() == Some(names::ENV_CLIENT_ID))
        {
            own.get_or_insert(var);
            if let Some(value) = var.get("value").and_then(Node::as_str)
                && !value.is_empty()
            {
                literal.push((name(), value.to_owned()));
            }
        }
        match own {
            Some(var) if var.get("valueFrom").is_some() => indirect.push((name(), "valueFrom")),
            None if has_env_from(container) => indirect.push((name(), "envFrom")),
            _ => {}
        }
    }
    (literal, indirect)
}

/// A non-empty `envFrom` (kept raw by the container shape).
fn has_env_from(container: &Node) -> bool {
    match container.get("envFrom") {
        Some(Node::Raw(raw)) => serde_json::from_str::<Vec<serde::de::IgnoredAny>>(raw.get())
            .is_ok_and(|sources| !sources.is_empty()),
        Some(Node::List(sources)) => !sources.is_empty(),
        _ => false,
    }
}
