//! Files only this service's user may read: the data folder, the database, the secret and the
//! mailbox hold personal information.

use std::path::Path;

/// Makes `path` private to its owner, if it exists with a looser mode: 0700 for a folder, 0600
/// for a file (bits beyond those are removed; a stricter mode is kept). Logs the path, never
/// what it holds.
pub fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        let private = if metadata.is_dir() { 0o700 } else { 0o600 };
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & !private != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & private))?;
            tracing::info!(
                path = %path.display(),
                was = format!("{mode:o}"),
                now = format!("{:o}", mode & private),
                "made private: only this service's user may read it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
