//! User names by uid, as ps and lsof show them.

use std::collections::HashMap;

use super::processes::user_name;

/// User names looked up once per uid (each lookup reads /etc/passwd or asks NSS): `None` for a uid without one.
#[derive(Debug, Default)]
pub struct UserNames {
    names: HashMap<u32, Option<String>>,
}

impl UserNames {
    pub fn name(&mut self, uid: u32) -> Option<String> {
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
    }
}
