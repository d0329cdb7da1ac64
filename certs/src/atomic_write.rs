//! Write a file so that a reader sees either the old content or the whole new one, never a
//! half-written file, with the permission bits set before any byte lands.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::CertError;

/// Writes `data` to `path` through a temporary file in the same folder, fsyncs it and renames
/// it into place. `mode` is applied at creation (0o600 for private keys).
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), CertError> {
    let err = |source| CertError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let file_name = path
        .file_name()
        .ok_or_else(|| err(std::io::Error::other("path has no file name")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = match dir {
        Some(d) => d.join(&tmp_name),
        None => Path::new(&tmp_name).to_path_buf(),
    };
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Some(d) = dir {
            fs::File::open(d)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_whole_file_with_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("k.key");
        write_atomic(&p, b"secret", 0o600).expect("write");
        assert_eq!(fs::read(&p).expect("read"), b"secret");
        let mode = fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        write_atomic(&p, b"new", 0o600).expect("overwrite");
        assert_eq!(fs::read(&p).expect("read"), b"new");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn missing_folder_is_a_write_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("nope").join("x.pem");
        let e = write_atomic(&p, b"x", 0o644).expect_err("must fail");
        assert!(e.to_string().contains("nope/x.pem"), "{e}");
    }
}
