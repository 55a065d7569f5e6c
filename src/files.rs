//! Files control-room writes are private: 0600 files in 0700 directories, created without
//! following symlinks, never at a path another local user could have prepared. A swapped
//! `kubeconfig` (an exec plugin) or `control-room.toml` (act commands) would run code as
//! the presenter.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Group or others may write: a directory like that is not ours alone.
const SHARED_WRITE: u32 = 0o022;

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Why a directory is not fit to hold our files.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("{}: {cause}", path.display())]
    Io { path: PathBuf, cause: io::Error },
    #[error("{} is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error(
        "{} belongs to uid {owner}, not to you (uid {me}): refusing to write a kubeconfig \
         or config there",
        path.display()
    )]
    NotOwned { path: PathBuf, owner: u32, me: u32 },
    #[error(
        "{} is writable by group or others (mode {mode:o}): anyone who can write there could \
         swap the kubeconfig; use a private directory (chmod 700) or leave --state-dir out",
        path.display()
    )]
    SharedWrite { path: PathBuf, mode: u32 },
}

/// Creates `path` (and missing parents) as 0700 directories; an existing `path` must be a
/// directory owned by us that nobody else can write to, else an error says why.
pub fn private_dir(path: &Path) -> Result<(), DirError> {
    match fs::symlink_metadata(path) {
        Ok(_) => check_private_dir(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|cause| DirError::Io {
                path: path.to_path_buf(),
                cause,
            }),
        Err(cause) => Err(DirError::Io {
            path: path.to_path_buf(),
            cause,
        }),
    }
}

/// `path` is a real directory (not a symlink to one), ours, and not group/other-writable.
pub fn check_private_dir(path: &Path) -> Result<(), DirError> {
    let meta = fs::symlink_metadata(path).map_err(|cause| DirError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    if !meta.is_dir() {
        return Err(DirError::NotADirectory {
            path: path.to_path_buf(),
        });
    }
    let me = euid();
    if meta.uid() != me {
        return Err(DirError::NotOwned {
            path: path.to_path_buf(),
            owner: meta.uid(),
            me,
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & SHARED_WRITE != 0 {
        return Err(DirError::SharedWrite {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Our own state directory: created 0700, or an existing one of ours tightened to 0700
/// (earlier versions made it 0755). A directory someone else owns is refused.
pub fn own_state_dir(path: &Path) -> Result<(), DirError> {
    private_dir(path).or_else(|e| match e {
        DirError::SharedWrite { .. } => {
            fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(|cause| {
                DirError::Io {
                    path: path.to_path_buf(),
                    cause,
                }
            })
        }
        other => Err(other),
    })
}

fn create_new_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Writes `dir/name` whole: to a fresh 0600 temporary beside it (never following a symlink),
/// then renamed into place, so a reader sees the old file or the new one and a link planted
/// at `name` is replaced, not written through.
pub fn write_private(dir: &Path, name: &str, contents: &[u8]) -> io::Result<PathBuf> {
    let target = dir.join(name);
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.{}.{attempt}.tmp", std::process::id()));
        match create_new_private(&tmp) {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, &target)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(target)
}

/// A file only we can read that did not exist before (an act's log).
pub fn create_private(path: &Path) -> io::Result<File> {
    create_new_private(path)
}

/// Opens `path` to write from the start (a recording): created 0600 if missing, never
/// through a symlink; an existing file must be a regular file of ours, truncated and
/// tightened to 0600.
pub fn replace_private(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o600)
        // O_NONBLOCK: a FIFO planted at the path must not hang the open.
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    if meta.uid() != euid() {
        return Err(io::Error::other(format!(
            "{} belongs to uid {}, not to you",
            path.display(),
            meta.uid()
        )));
    }
    file.set_len(0)?;
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Appends to `path` (created 0600 if missing, never through a symlink); an existing file of
/// ours with wider permissions is tightened to 0600.
pub fn append_private(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    if meta.mode() & 0o077 != 0 && meta.uid() == euid() {
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn created_dirs_and_files_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        let file = write_private(&dir, "kubeconfig", b"x").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(fs::read(&file).unwrap(), b"x");
        write_private(&dir, "kubeconfig", b"y").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"y", "rewritten whole");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["kubeconfig"], "no temporary left behind");
    }

    #[test]
    fn a_replaced_file_is_private_and_never_followed() {
        let root = tempfile::tempdir().unwrap();
        let cast = root.path().join("demo.cast");
        fs::write(&cast, b"an old recording").unwrap();
        fs::set_permissions(&cast, fs::Permissions::from_mode(0o644)).unwrap();
        let mut file = replace_private(&cast).unwrap();
        file.write_all(b"new").unwrap();
        assert_eq!(fs::read(&cast).unwrap(), b"new", "truncated first");
        assert_eq!(mode(&cast), 0o600);
        let fresh = root.path().join("fresh.cast");
        replace_private(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o600);

        let target = root.path().join("victim");
        fs::write(&target, b"keep me").unwrap();
        let link = root.path().join("link.cast");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(replace_private(&link).is_err(), "a symlink is not followed");
        assert_eq!(fs::read(&target).unwrap(), b"keep me");

        let fifo = root.path().join("fifo.cast");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Refused at once (no reader: ENXIO), never waiting for one.
        assert!(replace_private(&fifo).is_err());
    }

    #[test]
    fn a_shared_or_foreign_dir_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let open = root.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        let err = private_dir(&open).unwrap_err();
        assert!(
            matches!(err, DirError::SharedWrite { mode: 0o777, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains("writable by group or others"),
            "{err}"
        );
        let file = root.path().join("file");
        fs::write(&file, "").unwrap();
        assert!(matches!(
            private_dir(&file).unwrap_err(),
            DirError::NotADirectory { .. }
        ));
        // A symlink to a private directory is not the directory.
        let real = root.path().join("real");
        private_dir(&real).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            private_dir(&link).unwrap_err(),
            DirError::NotADirectory { .. }
        ));
        // Our own state dir from an older version is tightened instead.
        own_state_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700);
    }

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state");
        private_dir(&dir).unwrap();
        let victim = root.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("kubeconfig")).unwrap();
        write_private(&dir, "kubeconfig", b"ours").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert!(
            !fs::symlink_metadata(dir.join("kubeconfig"))
                .unwrap()
                .file_type()
                .is_symlink()
        );

        std::os::unix::fs::symlink(&victim, dir.join("log")).unwrap();
        assert!(append_private(&dir.join("log")).is_err(), "O_NOFOLLOW");
        assert!(create_private(&dir.join("log")).is_err());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[test]
    fn an_existing_log_is_tightened() {
        let root = tempfile::tempdir().unwrap();
        let log = root.path().join("control-room.log");
        fs::write(&log, "old\n").unwrap();
        fs::set_permissions(&log, fs::Permissions::from_mode(0o644)).unwrap();
        let mut f = append_private(&log).unwrap();
        writeln!(f, "new").unwrap();
        assert_eq!(mode(&log), 0o600);
        assert_eq!(fs::read_to_string(&log).unwrap(), "old\nnew\n");
    }
}
