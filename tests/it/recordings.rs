//! `/recordings/...` through the whole router: real files answer 200 with a
//! caching header; every path that is not a file under the folder (too
//! long, a NUL, a directory, `..` in any spelling) answers 404 without one,
//! and no path at all makes it answer 5xx.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use switchboard::server::{AppState, app};
use switchboard::store::Store;
use tower::ServiceExt;

/// The app over the demo flows and `recordings`, with a store in `db_dir`.
async fn router(recordings: PathBuf, db_dir: &Path) -> Router {
    let set = switchboard::flow::load_dir(Path::new("flows")).unwrap();
    let program = switchboard::compile::compile(&set).program.unwrap();
    let db = format!("sqlite://{}", db_dir.join("calls.db").display());
    let store = Store::open(&db).await.unwrap();
    app(AppState::new(program, store, recordings, None, None))
}

/// The status and `cache-control` of `method uri`.
async fn ask(app: &Router, method: Method, uri: &str) -> (StatusCode, Option<String>) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let cache = res
        .headers()
        .get(header::CACHE_CONTROL)
        .map(|v| v.to_str().unwrap().to_owned());
    (res.status(), cache)
}

#[tokio::test]
async fn real_files_are_served_with_a_caching_header() {
    let dir = tempfile::tempdir().unwrap();
    let app = router("recordings".into(), dir.path()).await;
    for uri in ["/recordings/hold.wav", "/recordings/en-US/greeting.wav"] {
        for method in [Method::GET, Method::HEAD] {
            let (status, cache) = ask(&app, method.clone(), uri).await;
            assert_eq!(status, StatusCode::OK, "{method} {uri}");
            assert_eq!(cache.as_deref(), Some("public, max-age=3600"), "{uri}");
        }
    }
}

#[tokio::test]
async fn paths_that_name_no_file_under_the_folder_are_not_found_and_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let app = router("recordings".into(), dir.path()).await;
    let long_name = format!("/recordings/{}.wav", "a".repeat(256));
    let long_path = format!("/recordings/{}hold.wav", "a/".repeat(3000));
    let paths = [
        "/recordings/nothing.wav",
        long_name.as_str(),
        long_path.as_str(),
        "/recordings/hold.wav%00",
        "/recordings/hold%00.wav",
        "/recordings/hold.wav/x",
        "/recordings/en-US",
        "/recordings/en-US/",
        "/recordings/",
        "/recordings/../Cargo.toml",
        "/recordings/en-US/../../Cargo.toml",
        "/recordings/..%2FCargo.toml",
        "/recordings/%2e%2e/Cargo.toml",
        "/recordings/%2E%2E%2FCargo.toml",
        "/recordings/%2Fetc%2Fpasswd",
        "/recordings/%ff.wav",
    ];
    for uri in paths {
        for method in [Method::GET, Method::HEAD] {
            let (status, cache) = ask(&app, method.clone(), uri).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}");
            assert_eq!(cache, None, "{method} {uri}: errors are not cached");
        }
    }
}

/// A symbolic link the admin put in the folder is followed, as the flow
/// compiler follows it when it checks the recording exists; a client
/// still cannot climb out through it.
#[tokio::test]
async fn symbolic_links_in_the_folder_are_followed_but_never_climbed_out_of() {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("library");
    let folder = dir.path().join("recordings");
    std::fs::create_dir_all(library.join("music")).unwrap();
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(library.join("music/jazz.wav"), b"RIFF").unwrap();
    std::fs::write(library.join("secret.txt"), b"secret").unwrap();
    std::os::unix::fs::symlink(library.join("music/jazz.wav"), folder.join("jazz.wav")).unwrap();
    std::os::unix::fs::symlink(library.join("music"), folder.join("music")).unwrap();
    let app = router(folder, dir.path()).await;
    assert_eq!(
        ask(&app, Method::GET, "/recordings/jazz.wav").await.0,
        StatusCode::OK
    );
    assert_eq!(
        ask(&app, Method::GET, "/recordings/music/jazz.wav").await.0,
        StatusCode::OK
    );
    for uri in [
        "/recordings/music/../secret.txt",
        "/recordings/music/..%2Fsecret.txt",
        "/recordings/music",
    ] {
        let (status, cache) = ask(&app, Method::GET, uri).await;
        assert_eq!((status, cache), (StatusCode::NOT_FOUND, None), "{uri}");
    }
}

/// Characters of a request path: literal, percent-encoded (any byte), and
/// the pieces that tend to matter to a file server.
fn path_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._~!$&'()*+,;=:@-]{1,12}",
        any::<u8>().prop_map(|b| format!("%{b:02X}")),
        prop::sample::select(vec![
            "/",
            "..",
            ".",
            "%2e%2e",
            "%2F",
            "%00",
            "%5C",
            "hold.wav",
            "en-US",
            "zh-CN",
            "greeting.wav",
            "//",
        ])
        .prop_map(str::to_owned),
        (1usize..400).prop_map(|n| "x".repeat(n)),
    ]
}

/// No path makes `/recordings/...` answer 5xx, and only an answer with a
/// file carries a caching header.
#[test]
fn no_path_makes_recordings_fail() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = runtime.block_on(router("recordings".into(), dir.path()));
    let paths = (prop::collection::vec(path_piece(), 0..40), any::<bool>());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    });
    let result = runner.run(&paths, |(pieces, head)| {
        let uri = format!("/recordings/{}", pieces.concat());
        prop_assume!(uri.parse::<axum::http::Uri>().is_ok());
        let method = if head { Method::HEAD } else { Method::GET };
        let (status, cache) = runtime.block_on(ask(&app, method, &uri));
        prop_assert!(!status.is_server_error(), "{uri}: {status}");
        if !matches!(
            status,
            StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
        ) {
            prop_assert_eq!(cache, None, "{}: {}", uri, status);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
