//! `settings.json` on disk: read, written atomically with mode 0600 (it may
//! hold a token), and moved aside when it cannot be used.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Settings;

/// The settings file's name in the app config dir.
pub const FILE_NAME: &str = "settings.json";

/// The settings in `path`: `Ok(None)` when there is no file, `Err` with
/// why (serde's words, with line and column) when it cannot be read.
pub fn read(path: &Path) -> Result<Option<Settings>, String> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Writes `settings` to `path` through a temporary file and a rename, so a
/// crash leaves the old file or the new one, never half of one. The file
/// is 0600 whatever it holds, and its directory is created 0700.
pub fn write(path: &Path, settings: &Settings) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let temp = dir.join(format!(".{FILE_NAME}.tmp-{}", std::process::id()));
    let mut json = serde_json::to_vec_pretty(settings).map_err(io::Error::other)?;
    json.push(b'\n');
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    // `mode` applies only when the file is created; a stale one is fixed here.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(&json)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, path)
}

/// Moves `path` to `<path>.broken-<UTC time>` (with `-2`, `-3`... when
/// that exists: a backup is never overwritten); returns the new path.
pub fn move_aside(path: &Path) -> io::Result<PathBuf> {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(':', "-");
    let base = format!("{}.broken-{stamp}", path.display());
    for n in 1..=100 {
        let backup = PathBuf::from(match n {
            1 => base.clone(),
            n => format!("{base}-{n}"),
        });
        // A hard link fails when the target exists, where a rename would
        // replace it.
        match fs::hard_link(path, &backup) {
            Ok(()) => {
                fs::remove_file(path)?;
                return Ok(backup);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "{base}: 100 backups exist already"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("telltale-file-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn written_0600_and_read_back() {
        let dir = temp_dir("write");
        let path = dir.join(FILE_NAME);
        let settings = Settings {
            chart_window_secs: 900,
            ..Settings::default()
        };
        write(&path, &settings).unwrap();
        assert_eq!(read(&path).unwrap(), Some(settings));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        // An existing file with looser permissions is tightened.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write(&path, &Settings::default()).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn backups_are_never_overwritten() {
        let dir = temp_dir("aside");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FILE_NAME);
        fs::write(&path, "first").unwrap();
        let one = move_aside(&path).unwrap();
        fs::write(&path, "second").unwrap();
        let two = move_aside(&path).unwrap();
        assert_ne!(one, two);
        assert!(!path.exists());
        assert_eq!(fs::read_to_string(&one).unwrap(), "first");
        assert_eq!(fs::read_to_string(&two).unwrap(), "second");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_file_is_none() {
        assert_eq!(read(&temp_dir("none").join(FILE_NAME)).unwrap(), None);
    }
}
