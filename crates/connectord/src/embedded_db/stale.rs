//! Clusters left behind by a process that was killed before it could remove its own (SIGKILL,
//! a second Ctrl-C): each folder names its owner's pid, and the next start removes the folders
//! whose owner is gone, stopping their server first.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

const OWNER_FILE: &str = "owner.pid";

/// Writes this process's pid into `folder`.
pub fn mark_owner(folder: &Path) -> io::Result<()> {
    std::fs::write(folder.join(OWNER_FILE), std::process::id().to_string())
}

/// Removes the folders under the temporary folder named `prefix…` whose owner has exited.
pub fn sweep(prefix: &str) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let folder = entry.path();
        let ours = entry.file_name().to_string_lossy().starts_with(prefix);
        // A folder without its owner file is being created right now: not ours to judge.
        let owner = std::fs::read_to_string(folder.join(OWNER_FILE));
        let Ok(owner) = owner else { continue };
        if !ours || owner.trim().parse().is_ok_and(alive) {
            continue;
        }
        stop_orphan(&folder.join("data"));
        let _ = std::fs::remove_dir_all(&folder);
    }
}

/// Stops the server of `data` if it still runs: an immediate shutdown, at most 2 s.
fn stop_orphan(data: &Path) {
    let pid_file = std::fs::read_to_string(data.join("postmaster.pid")).unwrap_or_default();
    let Some(pid) = pid_file
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        return;
    };
    // Only a process whose command line names this data folder: never a reused pid.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let data = data.to_string_lossy();
    if !String::from_utf8_lossy(&cmdline).contains(data.as_ref()) {
        return;
    }
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(pid, libc::SIGQUIT) };
    let started = Instant::now();
    while alive(pid) && started.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; EPERM means it does.
    let answered = unsafe { libc::kill(pid, 0) } == 0;
    answered || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
