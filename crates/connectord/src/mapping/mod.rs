//! Member account mapping: which Salesforce user acts for which member of a tenant, per
//! connection. [`matcher`] decides (pure); [`org_users`] reads the org's users through the
//! connection's own app; [`store`] reads and writes the mapping tables; [`sync`] ties them
//! together for the reconciler; [`manual`] holds what the command line does by hand; [`csv`]
//! reads imports and writes exports.

pub mod csv;
pub mod error;
pub mod manual;
pub mod matcher;
pub mod model;
pub mod org_users;
pub mod store;
pub mod sync;

#[cfg(test)]
mod matcher_tests;

pub use error::MappingError;
pub use model::{DropReason, Gap, Mapping, Member, Method, Mode, OrgUser};
pub use sync::{SyncReport, sync};
