//! The Salesforce client: auth, REST, composite, metadata deploy, credentials, limits.
