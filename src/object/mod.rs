//! Kubernetes objects as this policy reads them: the one [`Metadata`] every kind shares, and
//! the pod document ([`pod`]), read in the envelope's pass to the shape its path needs.

mod metadata;
pub(crate) mod pod;
mod shapes;

pub(crate) use metadata::{Metadata, Object};
pub(crate) use shapes::expand_spec;
