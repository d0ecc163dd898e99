//! What an empty lookup inside the access Composite means for the customer's admin: the
//! `profile` query found no integration profile, the `psl` query no Salesforce API Integration
//! permission set licence (issue 21 item 2).

use crate::reconcile::observe::INTEGRATION_PSL;
use crate::salesforce::SalesforceError;

/// Names the missing setup record behind an invalid reference, with its own code.
pub(super) fn name_missing_lookup(error: SalesforceError) -> SalesforceError {
    match error {
        SalesforceError::InvalidReference { reference, message } => match reference.as_str() {
            "profile" => SalesforceError::IntegrationProfileMissing { message },
            "psl" => SalesforceError::LicenseUnavailable {
                message: format!(
                    "the org has no permission set licence {INTEGRATION_PSL} (Salesforce API Integration): {message}"
                ),
            },
            _ => SalesforceError::InvalidReference { reference, message },
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::super::INTEGRATION_PROFILE;
    use super::*;
    use crate::error_code::ErrorCode;

    fn invalid(reference: &str) -> SalesforceError {
        SalesforceError::InvalidReference {
            reference: reference.into(),
            message: "Invalid reference specified.".into(),
        }
    }

    #[test]
    fn an_empty_profile_lookup_is_a_missing_integration_profile() {
        let e = name_missing_lookup(invalid("profile"));
        assert_eq!(e.error_code(), ErrorCode::IntegrationProfileMissing);
        assert!(e.to_string().contains(INTEGRATION_PROFILE), "{e}");
    }

    #[test]
    fn an_empty_licence_lookup_is_an_unavailable_licence() {
        let e = name_missing_lookup(invalid("psl"));
        assert_eq!(e.error_code(), ErrorCode::LicenseUnavailable);
        assert!(e.to_string().contains(INTEGRATION_PSL), "{e}");
    }
}
