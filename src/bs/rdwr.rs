//! The `rdwr` store: pread/pwrite on a regular file or block device.
//! tgt: usr/bs_rdwr.c `bs_rdwr_open()`, usr/util.c `backed_file_open()`

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use super::{BsError, Media, OpenFlags};

fn open_with(path: &str, write: bool, oflags: OpenFlags) -> io::Result<File> {
    let mut custom = 0;
    if oflags.sync {
        custom |= libc::O_SYNC;
    }
    if oflags.direct {
        custom |= libc::O_DIRECT;
    }
    OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(custom)
        .open(path)
}

/// Opens `path` read-write, falling back to read-only on EACCES/EROFS as tgt does, and
/// takes its size: `st_size` for a regular file, the device size for a block device;
/// anything else is refused.
pub fn open(path: &str, oflags: OpenFlags) -> Result<Media, BsError> {
    let err_path = || PathBuf::from(path);
    let (file, read_only_fallback) = match open_with(path, true, oflags) {
        Ok(f) => (f, false),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EROFS)) => {
            let f = open_with(path, false, oflags).map_err(|err| BsError::Open {
                path: err_path(),
                err,
            })?;
            (f, true)
        }
        Err(err) => {
            return Err(BsError::Open {
                path: err_path(),
                err,
            })
        }
    };
    let md = file.metadata().map_err(|err| BsError::Size {
        path: err_path(),
        err,
    })?;
    let ft = md.file_type();
    let (size, preferred_blksize) = if ft.is_file() {
        (md.len(), u32::try_from(md.blksize()).ok())
    } else if ft.is_block_device() {
        // The end offset of a block device is its size (same value as BLKGETSIZE64).
        let mut f = &file;
        let size = f.seek(SeekFrom::End(0)).map_err(|err| BsError::Size {
            path: err_path(),
            err,
        })?;
        (size, None)
    } else {
        return Err(BsError::BadFileType {
            path: err_path(),
            mode: md.mode(),
        });
    };
    let access = super::Access::of(&file, oflags.direct);
    Ok(Media {
        file: Some(Arc::new(file)),
        size,
        preferred_blksize,
        read_only_fallback,
        access,
        passthrough: None,
        rbd: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tgt-rdwr-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn regular_file_size_is_st_size() {
        let d = tmpdir("reg");
        let p = d.join("img");
        let f = File::create(&p).unwrap();
        f.set_len(10 << 20).unwrap();
        let m = open(p.to_str().unwrap(), OpenFlags::NONE).unwrap();
        assert_eq!(m.size, 10 << 20);
        assert!(!m.read_only_fallback);
    }

    #[test]
    fn missing_file_and_directory_are_refused() {
        let d = tmpdir("bad");
        assert!(matches!(
            open(d.join("missing").to_str().unwrap(), OpenFlags::NONE),
            Err(BsError::Open { .. })
        ));
        assert!(open(d.to_str().unwrap(), OpenFlags::NONE).is_err());
    }

    #[test]
    fn character_device_is_refused() {
        assert!(matches!(
            open("/dev/null", OpenFlags::NONE),
            Err(BsError::BadFileType { .. })
        ));
    }
}
