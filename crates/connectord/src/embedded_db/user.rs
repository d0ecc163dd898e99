//! Who runs the PostgreSQL tools. `initdb` and `postgres` refuse to run as root, so a root
//! process runs them as an unprivileged account of the machine (`postgres`, else `nobody`)
//! through `CommandExt::uid`/`gid`; anyone else runs them as themselves.

use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// The account the tools run as when this process is root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
}

/// The accounts tried, in order, when running as root.
pub const CANDIDATES: [&str; 2] = ["postgres", "nobody"];

/// `None` when this process is not root (the tools run as the current user), else the
/// account to switch to; `Err` names the accounts looked for when none exists.
pub fn runner() -> Result<Option<Account>, String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    CANDIDATES
        .iter()
        .find_map(|name| lookup(&passwd, name))
        .map(Some)
        .ok_or_else(|| CANDIDATES.join(" or "))
}

/// The uid and gid of `name` in an /etc/passwd text; never root.
fn lookup(passwd: &str, name: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let uid = fields.nth(1)?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        (uid != 0).then_some(Account { uid, gid })
    })
}

/// A command for one of the tools, as `account` when given.
pub fn command(program: &std::path::Path, account: Option<Account>) -> Command {
    let mut command = Command::new(program);
    if let Some(account) = account {
        // std drops root's supplementary groups when it switches uid.
        command.uid(account.uid).gid(account.gid);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_read_from_passwd_and_root_is_never_one() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgres:x:101:104:PostgreSQL administrator:/var/lib/postgresql:/bin/bash\n\
                      evil:x:0:0::/:/bin/sh\n";
        assert_eq!(
            lookup(passwd, "postgres"),
            Some(Account { uid: 101, gid: 104 })
        );
        assert_eq!(lookup(passwd, "evil"), None);
        assert_eq!(lookup(passwd, "nobody"), None);
    }
}
