//! Test-only hooks: nothing in the daemon or the command line calls the setters here, so in a
//! running daemon every hook is off. Hidden from the documentation; tests reach them through
//! the library.

use std::collections::HashSet;
use std::sync::Mutex;

use uuid::Uuid;

/// Connections whose passes panic at their start (to test that a panicking pass releases its
/// lease and is reported with its own error code).
static PANICKING: Mutex<Option<HashSet<Uuid>>> = Mutex::new(None);

/// From now on, every pass over connection `id` in this process panics at its start.
#[doc(hidden)]
pub fn make_passes_panic(id: Uuid) {
    let mut set = PANICKING.lock().unwrap_or_else(|p| p.into_inner());
    set.get_or_insert_with(HashSet::new).insert(id);
}

/// Panics if a test asked passes over `id` to.
pub(crate) fn panic_if_asked(id: Uuid) {
    let asked = PANICKING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_some_and(|set| set.contains(&id));
    if asked {
        panic!("test hook: the pass over {id} panics");
    }
}
