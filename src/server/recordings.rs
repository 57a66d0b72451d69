//! `GET /recordings/...`: the audio files our TwiML's `<Play>` points at,
//! served from the recordings folder by tower-http's `ServeDir`.
//!
//! This file owns what the answer means: 200 (or 206, 304) for a file under
//! the folder, with a caching header Twilio's media cache honours; 404 for
//! every other path, whatever the file system said about it; 500 only for a
//! failure of ours reading a file that is there. Paths never leave the
//! folder (`ServeDir` refuses `..`, absolute and drive components);
//! symbolic links inside it are followed, as the flow compiler follows them
//! when it checks that each recording exists: only whoever can write the
//! folder can place one. It must not know about calls or providers.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower_http::services::ServeDir;

/// How long Twilio (and any other cache) may keep a recording.
const CACHE: &str = "public, max-age=3600";

/// The recordings service: a file of `dir`, or 404.
#[derive(Clone, Debug)]
pub(super) struct Recordings {
    dir: ServeDir,
}

impl Recordings {
    pub(super) fn new(dir: &Path) -> Self {
        // A directory is not a recording: 404, not a redirect to its
        // `index.html`.
        Recordings {
            dir: ServeDir::new(dir).append_index_html_on_directories(false),
        }
    }
}

impl tower::Service<Request> for Recordings {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let path = req.uri().path().to_owned();
        // `try_call` hands us the file system's error instead of answering
        // 500 for every kind `ServeDir` does not know to be the client's.
        let answer = self.dir.try_call(req);
        Box::pin(async move {
            let mut res = match answer.await {
                Ok(res) => res.map(Body::new),
                Err(e) if names_no_file(&e) => {
                    tracing::debug!(path, error = %e, "no such recording");
                    StatusCode::NOT_FOUND.into_response()
                }
                Err(e) => {
                    tracing::error!(path, error = %e, "cannot read a recording");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            };
            if matches!(
                res.status(),
                StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
            ) {
                res.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
            }
            Ok(res)
        })
    }
}

/// Whether opening a requested path failed because the path names no file
/// we serve (a client's doing: 404) rather than because reading failed.
fn names_no_file(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        // No such file, or not readable by us.
        NotFound | PermissionDenied
        // A file used as a directory (`hold.wav/x`), or a directory as a file.
        | NotADirectory | IsADirectory
        // A name or path too long for the file system (ENAMETOOLONG).
        | InvalidFilename
        // A NUL byte in the name (`hold.wav%00`): no file can have it.
        | InvalidInput
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_systems_refusals_of_a_name_are_not_found_and_its_failures_are_not() {
        let too_long = std::fs::metadata("a".repeat(300)).unwrap_err();
        assert!(names_no_file(&too_long), "{too_long:?}");
        let nul = std::fs::metadata("hold.wav\0").unwrap_err();
        assert!(names_no_file(&nul), "{nul:?}");
        let through_a_file = std::fs::metadata("Cargo.toml/x").unwrap_err();
        assert!(names_no_file(&through_a_file), "{through_a_file:?}");
        for failure in [io::ErrorKind::Other, io::ErrorKind::OutOfMemory] {
            assert!(!names_no_file(&io::Error::from(failure)), "{failure:?}");
        }
    }
}
