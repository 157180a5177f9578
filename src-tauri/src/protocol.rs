//! The `resnotes-asset:` scheme: the preview's `<img>` and links load an attachment as
//! `resnotes-asset://localhost/<clientId>/<index>/<name>?size=…&type=…&hash=…` (the asset URL's
//! path and query). Only pictures are served, at most `PREVIEW_MAX_BYTES` each, only after the
//! engine verified them against the hash, on the blocking pool over the shared preview
//! connections ([`crate::state::PreviewConnections`]: bounded memory, no database opened per
//! request), fetched from a target first when needed.

use std::borrow::Cow;

use resnotes_core::AssetRef;
use tauri::http::{header, Request, Response, StatusCode, Uri};
use tauri::{AppHandle, Manager, UriSchemeResponder};

use crate::state::AppState;

/// The scheme's name.
pub const SCHEME: &str = "resnotes-asset";

/// Answers one request without blocking the caller.
pub fn handle(app: &AppHandle, request: Request<Vec<u8>>, responder: UriSchemeResponder) {
    let uri = request.uri().clone();
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || responder.respond(serve(&app, &uri)));
}

fn text(status: StatusCode, message: String) -> Response<Cow<'static, [u8]>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Cow::Owned(message.into_bytes()))
        .expect("a valid response")
}

/// The asset URL a protocol URL stands for.
pub fn asset_url(uri: &Uri) -> String {
    format!("asset://{}?{}", uri.path(), uri.query().unwrap_or(""))
}

fn serve(app: &AppHandle, uri: &Uri) -> Response<Cow<'static, [u8]>> {
    let r = match AssetRef::parse(&asset_url(uri)) {
        Ok(r) => r,
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    // Only images are shown inline; any other file is opened or saved (streamed to a file).
    if !r.is_image() {
        return text(
            StatusCode::NOT_FOUND,
            format!("{} is not a picture: use Open or Save as…", r.name),
        );
    }
    let state = app.state::<AppState>();
    let bytes = state.preview.with(&state.dir, |ws| ws.asset_bytes(&r, &mut |_| ()));
    match bytes {
        Ok(bytes) => {
            let mime = r.mime.as_str();
            Response::builder()
                .header(header::CONTENT_TYPE, mime)
                .header(
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; sandbox",
                )
                .header("X-Content-Type-Options", "nosniff")
                // The URL names the content by its hash: it never changes.
                .header(header::CACHE_CONTROL, "private, max-age=31536000, immutable")
                .body(Cow::Owned(bytes))
                .expect("a valid response")
        }
        Err(e @ resnotes_core::Error::AssetUnavailable { .. }) => {
            text(StatusCode::NOT_FOUND, e.to_string())
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_urls_map_to_asset_urls() {
        let c = "3f2a1c4e-9b8d-4e7f-a6b5-c4d3e2f1a0b9";
        let h = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        for base in ["resnotes-asset://localhost", "http://resnotes-asset.localhost"] {
            let uri: Uri =
                format!("{base}/{c}/3/a%20b.png?size=1&type=image%2Fpng&hash={h}").parse().unwrap();
            let r = AssetRef::parse(&asset_url(&uri)).unwrap();
            assert_eq!(
                (r.id.index, r.name.as_str(), r.mime.as_str()),
                (3, "a b.png", "image/png"),
                "{base}"
            );
        }
    }
}
