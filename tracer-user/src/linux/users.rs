//! User names by uid, as ps and lsof show them.

use std::collections::HashMap;

use super::processes::user_name;

/// Uids seen before the cache is started afresh (bounded: a machine with uids mapped into many user namespaces
/// could otherwise grow it without end in a long-running command such as `tracer monitor`).
const USER_NAMES_KEPT: usize = 4096;

/// User names looked up once per uid (each lookup reads /etc/passwd or asks NSS: files, LDAP, sssd; per event it
/// would cost every event a file read or a round trip): `None` for a uid without one.
#[derive(Debug, Default)]
pub struct UserNames {
    names: HashMap<u32, Option<String>>,
}

impl UserNames {
    /// The name of `uid`, `None` when it has none.
    pub fn name(&mut self, uid: u32) -> Option<String> {
        if self.names.len() >= USER_NAMES_KEPT && !self.names.contains_key(&uid) {
            self.names.clear();
        }
        self.names.entry(uid).or_insert_with(|| user_name(uid)).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_named_and_cached() {
        let mut users = UserNames::default();
        assert_eq!(users.name(0).as_deref(), Some("root"));
        assert_eq!(users.names.len(), 1);
        assert_eq!(users.name(0).as_deref(), Some("root"));
        assert_eq!(users.names.len(), 1);
        assert_eq!(users.name(4_000_000_000), None);
    }

    #[test]
    fn bounded() {
        let mut users = UserNames::default();
        for uid in 4_000_000_000..4_000_000_000 + USER_NAMES_KEPT as u32 {
            users.name(uid);
        }
        assert_eq!(users.names.len(), USER_NAMES_KEPT);
        assert_eq!(users.name(0).as_deref(), Some("root"));
        assert_eq!(users.names.len(), 1);
    }
}
