//! The access work the planner asks for: what building or repairing a set's access takes, and
//! what narrowing the set in service takes (the grants the desired fields no longer need).

use super::dependencies::{granted_for_dependencies, objects_needed};
use super::model::{ComponentSet, Desired, PermissionSetState};
use super::plan::AccessWork;

pub(super) fn access_work(set: &ComponentSet) -> AccessWork {
    let empty = PermissionSetState {
        id: String::new(),
        objects: vec![],
        fields: vec![],
    };
    let ps = set.permission_set.as_ref().unwrap_or(&empty);
    let wanted_objects = objects_needed(&set.fields);
    let wants_object = |o: &str| wanted_objects.iter().any(|w| w.eq_ignore_ascii_case(o));
    let grant_objects: Vec<String> = wanted_objects
        .iter()
        .filter(|w| !ps.objects.iter().any(|g| g.object.eq_ignore_ascii_case(w)))
        .cloned()
        .collect();
    AccessWork {
        create_user: set.user.is_none(),
        assign_license: set.license.is_none(),
        create_permission_set: set.permission_set.is_none(),
        dependencies: granted_for_dependencies(&set.fields, &grant_objects),
        grant_objects,
        restrict_objects: ps
            .objects
            .iter()
            .filter(|g| wants_object(&g.object) && !g.read_only)
            .map(|g| g.id.clone())
            .collect(),
        revoke_objects: ps
            .objects
            .iter()
            .filter(|g| !wants_object(&g.object))
            .map(|g| g.id.clone())
            .collect(),
        grant_fields: set
            .fields
            .iter()
            .filter(|f| !set.implicit.contains(f) && !ps.fields.iter().any(|g| g.field == **f))
            .cloned()
            .collect(),
        restrict_fields: ps
            .fields
            .iter()
            .filter(|g| set.fields.contains(&g.field) && !g.read_only)
            .map(|g| g.id.clone())
            .collect(),
        revoke_fields: ps
            .fields
            .iter()
            .filter(|g| !set.fields.contains(&g.field))
            .map(|g| g.id.clone())
            .collect(),
        assign: set.assignment.is_none(),
    }
}

/// What revoking the grants of `active` that `desired` no longer needs takes: field
/// permissions of fields not required any more, object permissions of objects none of the
/// required fields is on (nor needed by one of those, see `reconcile::dependencies`).
pub(super) fn narrowing(active: &ComponentSet, desired: &Desired) -> AccessWork {
    let Some(ps) = active.permission_set.as_ref() else {
        return AccessWork::default();
    };
    let objects = objects_needed(&desired.fields);
    AccessWork {
        revoke_fields: ps
            .fields
            .iter()
            .filter(|g| !desired.fields.contains(&g.field))
            .map(|g| g.id.clone())
            .collect(),
        revoke_objects: ps
            .objects
            .iter()
            .filter(|g| !objects.iter().any(|o| o.eq_ignore_ascii_case(&g.object)))
            .map(|g| g.id.clone())
            .collect(),
        ..AccessWork::default()
    }
}
