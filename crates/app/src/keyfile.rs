//! Writing a secret to a file only its owner can read.

use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::path::Path;

/// Writes `secret` (and a newline) to `path` with mode 0600, replacing any old file.
///
/// # Errors
/// When the directory or file cannot be created or written.
pub fn write_secret(path: &Path, secret: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // An older file may have had a wider mode: narrow it before writing.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        writeln!(file, "{secret}")?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path)?;
        writeln!(file, "{secret}")?;
        file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn secrets_are_written_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/key");
        write_secret(&path, "rst_abc").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "rst_abc\n");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
