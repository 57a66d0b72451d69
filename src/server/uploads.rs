//! Files providers upload with a callback (a VoiceXML browser's
//! `<record>`, posted as `multipart/form-data`): kept in the uploads
//! directory under a name no one can guess, and served to signed-in
//! supervisors at `/admin/recordings/{name}`.

use crate::provider::BadCallback;
use std::path::{Path, PathBuf};

/// The largest upload accepted (about 17 minutes of 8 kHz 16-bit audio).
pub const UPLOAD_LIMIT: usize = 16 * 1024 * 1024;

/// A multipart body's text fields and files (field name, bytes).
pub struct Parts {
    /// Text fields.
    pub fields: Vec<(String, String)>,
    /// Files.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Is `content_type` multipart/form-data?
pub fn is_multipart(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// Read a multipart body.
pub async fn read(content_type: &str, body: axum::body::Bytes) -> Result<Parts, BadCallback> {
    let bad = |_| BadCallback::Body("multipart/form-data with a boundary");
    let boundary = multer::parse_boundary(content_type).map_err(bad)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Parts {
        fields: Vec::new(),
        files: Vec::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file = field.file_name().is_some();
        let data = field.bytes().await.map_err(bad)?;
        if file {
            parts.files.push((name, data.to_vec()));
        } else {
            let text = String::from_utf8(data.to_vec())
                .map_err(|_| BadCallback::Invalid("multipart field", name.clone()))?;
            parts.fields.push((name, text));
        }
    }
    Ok(parts)
}

/// A file name for an upload of `call`: its id (unsafe characters
/// replaced), and 128 random bits.
pub fn file_name(call: &str) -> String {
    let safe: String = call
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{safe}-{:016x}{:016x}.wav",
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

/// Is `name` one of ours (no path, only the characters [`file_name`] writes)?
pub fn is_ours(name: &str) -> bool {
    name.ends_with(".wav")
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Delete the uploads among `urls` (recordings erased with their calls):
/// those that are ours (`…/admin/recordings/NAME`) are removed from `dir`
/// and from `urls`, which keeps the ones a provider holds.
pub async fn forget(dir: &Path, urls: &mut Vec<String>) {
    let mut kept = Vec::with_capacity(urls.len());
    for url in urls.drain(..) {
        let ours = url
            .rsplit_once("/admin/recordings/")
            .map(|(_, name)| name.to_owned())
            .filter(|name| is_ours(name));
        match ours {
            Some(name) => match tokio::fs::remove_file(dir.join(&name)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::error!(
                        "could not delete the erased recording {name} in {}: {e}",
                        dir.display()
                    );
                    kept.push(url);
                }
            },
            None => kept.push(url),
        }
    }
    *urls = kept;
}

/// Keep `data` as `name` in `dir` (created if need be).
pub async fn keep(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let path = dir.join(name);
    tokio::fs::write(&path, data).await?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unguessable() {
        let a = file_name("vx../../etc/passwd");
        assert!(is_ours(&a) && !a.contains('/'), "{a}");
        assert_ne!(file_name("c"), file_name("c"));
        assert!(!is_ours("../x.wav") && !is_ours(".hidden.wav") && !is_ours("x.sh"));
    }

    #[tokio::test]
    async fn multipart_bodies_give_fields_and_files() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"msg_seconds\"\r\n\r\n12\r\n--b\r\nContent-Disposition: form-data; name=\"msg\"; filename=\"msg.wav\"\r\nContent-Type: audio/x-wav\r\n\r\nRIFF....\r\n--b--\r\n";
        let parts = read(
            "multipart/form-data; boundary=b",
            axum::body::Bytes::from(body),
        )
        .await
        .unwrap();
        assert_eq!(
            parts.fields,
            vec![("msg_seconds".to_owned(), "12".to_owned())]
        );
        assert_eq!(parts.files, vec![("msg".to_owned(), b"RIFF....".to_vec())]);
        assert!(
            read("multipart/form-data", axum::body::Bytes::from(body))
                .await
                .is_err()
        );
        assert!(
            read(
                "multipart/form-data; boundary=b",
                axum::body::Bytes::from("garbage")
            )
            .await
            .is_err()
        );
    }
}
