//! What the policy asks the cluster: ServiceAccounts, SecretProviderClasses and
//! SubjectAccessReviews. [`Cluster`] is the one seam to the host; [`Lookups`] adds the
//! uncached retry of reference §4.2, per-evaluation memoization and typed parsing on top of it.

mod aad;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod host;
mod lookups;

pub use aad::AzureIdentityBinding;
pub use host::HostCluster;
pub use lookups::*;

#[cfg(test)]
mod tests;
