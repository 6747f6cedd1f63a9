//! reference §11: what registers the policy with a cluster and describes it to users, checked
//! against the policy itself: the shipped examples and runbooks, their `matchConditions`,
//! `metadata.yml` and `questions-ui.yml`; and the Kubewarden chart values they rely on.

#[path = "registration/chart.rs"]
mod chart;
#[path = "registration/examples.rs"]
mod examples;
#[path = "registration/match_conditions.rs"]
mod match_conditions;
#[path = "registration/metadata.rs"]
mod metadata;
#[path = "registration/questions_ui.rs"]
mod questions_ui;
