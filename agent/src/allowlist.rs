//! The local allow-list: a job may run only an executable that the host's operator put
//! in the scripts directory (`/etc/medic-agent/scripts.d/`). Medic names a script; this
//! host decides whether it exists. Whatever the server says, nothing else runs.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const MAX_NAME: usize = 128;

/// Why a job was refused; the label of `medic_agent_script_skipped_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not a plain file name (a path, `..`, an empty or odd name).
    InvalidName,
    /// No such file in the scripts directory (or no scripts directory).
    NotRegistered,
    /// A symlink in the directory that leads out of it.
    OutsideAllowList,
    /// Not a regular file, or no execute bit.
    NotExecutable,
    /// The script or the directory is writable by anyone: anyone could change what runs.
    UnsafePermissions,
    /// The job itself is malformed (arguments, timeout).
    InvalidJob,
}

impl Skip {
    pub fn reason(self) -> &'static str {
        match self {
            Skip::InvalidName => "invalid_name",
            Skip::NotRegistered => "not_registered",
            Skip::OutsideAllowList => "outside_allow_list",
            Skip::NotExecutable => "not_executable",
            Skip::UnsafePermissions => "unsafe_permissions",
            Skip::InvalidJob => "invalid_job",
        }
    }
}

/// Letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 128
/// characters: the same rule as Medic's playbooks, so no name can be a path.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    name.len() <= MAX_NAME
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
}

const WORLD_WRITABLE: u32 = 0o002;

/// The path to execute for `name`, or why it may not run.
pub fn resolve(directory: &Path, name: &str) -> Result<PathBuf, Skip> {
    if !valid_name(name) {
        return Err(Skip::InvalidName);
    }
    let root = fs::canonicalize(directory).map_err(|_| Skip::NotRegistered)?;
    let root_meta = fs::metadata(&root).map_err(|_| Skip::NotRegistered)?;
    if !root_meta.is_dir() {
        return Err(Skip::NotRegistered);
    }
    if root_meta.permissions().mode() & WORLD_WRITABLE != 0 {
        return Err(Skip::UnsafePermissions);
    }
    let entry = root.join(name);
    if fs::symlink_metadata(&entry).is_err() {
        return Err(Skip::NotRegistered);
    }
    let target = fs::canonicalize(&entry).map_err(|_| Skip::NotRegistered)?;
    if !target.starts_with(&root) || target == root {
        return Err(Skip::OutsideAllowList);
    }
    let meta = fs::metadata(&target).map_err(|_| Skip::NotRegistered)?;
    let mode = meta.permissions().mode();
    if !meta.is_file() || mode & 0o111 == 0 {
        return Err(Skip::NotExecutable);
    }
    if mode & WORLD_WRITABLE != 0 {
        return Err(Skip::UnsafePermissions);
    }
    Ok(target)
}

/// The scripts this host allows, sorted (for `medic-agent scripts` and the server's view).
pub fn registered(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(directory) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| resolve(directory, name).is_ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Dir(PathBuf);

    impl Dir {
        fn new(label: &str) -> Dir {
            let path = std::env::temp_dir().join(format!(
                "medic-agent-test-{}-{}",
                label,
                std::process::id()
            ));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
            Dir(path)
        }

        fn script(&self, name: &str, mode: u32) -> PathBuf {
            let path = self.0.join(name);
            fs::write(&path, "#!/bin/sh\necho hi\n").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            path
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn names_are_plain_file_names() {
        assert!(valid_name("restart-nginx.sh"));
        assert!(valid_name("a"));
        for bad in ["", "../etc/passwd", "a/b", ".hidden", "-rf", "a b", "é", "a;b"] {
            assert!(!valid_name(bad), "{:?} must be refused", bad);
        }
        assert!(valid_name(&"a".repeat(MAX_NAME)));
        assert!(!valid_name(&"a".repeat(MAX_NAME + 1)));
    }

    #[test]
    fn a_registered_executable_resolves() {
        let dir = Dir::new("ok");
        let path = dir.script("restart", 0o755);
        assert_eq!(resolve(&dir.0, "restart"), Ok(fs::canonicalize(path).unwrap()));
        assert_eq!(registered(&dir.0), vec!["restart".to_string()]);
    }

    #[test]
    fn everything_else_is_skipped_with_its_reason() {
        let dir = Dir::new("refusals");
        dir.script("plain", 0o644);
        dir.script("open", 0o757);
        fs::create_dir(dir.0.join("subdir")).unwrap();
        let outside = Dir::new("outside");
        let elsewhere = outside.script("evil", 0o755);
        symlink(&elsewhere, dir.0.join("escape")).unwrap();
        symlink("/bin/sh", dir.0.join("shell")).unwrap();
        assert_eq!(resolve(&dir.0, "missing"), Err(Skip::NotRegistered));
        assert_eq!(resolve(&dir.0, "plain"), Err(Skip::NotExecutable));
        assert_eq!(resolve(&dir.0, "subdir"), Err(Skip::NotExecutable));
        assert_eq!(resolve(&dir.0, "open"), Err(Skip::UnsafePermissions));
        assert_eq!(resolve(&dir.0, "escape"), Err(Skip::OutsideAllowList));
        assert_eq!(resolve(&dir.0, "shell"), Err(Skip::OutsideAllowList));
        assert_eq!(resolve(&dir.0, "../outside"), Err(Skip::InvalidName));
        assert_eq!(resolve(&dir.0.join("nope"), "plain"), Err(Skip::NotRegistered));
        assert!(registered(&dir.0).is_empty());
    }

    #[test]
    fn a_symlink_inside_the_directory_is_allowed() {
        let dir = Dir::new("inner-link");
        dir.script("real", 0o755);
        symlink(dir.0.join("real"), dir.0.join("alias")).unwrap();
        assert!(resolve(&dir.0, "alias").is_ok());
    }

    #[test]
    fn a_world_writable_directory_allows_nothing() {
        let dir = Dir::new("open-dir");
        dir.script("restart", 0o755);
        fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(resolve(&dir.0, "restart"), Err(Skip::UnsafePermissions));
    }
}
