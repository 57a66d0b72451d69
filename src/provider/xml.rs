//! Writing voice XML documents with quick-xml (every text and attribute
//! escaped by the writer), shared by the providers' renderers.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::io;
use std::time::Duration;

/// The writer renderers write into.
pub type W = Writer<Vec<u8>>;

/// A document: the XML declaration, then what `body` writes. Writing into
/// memory cannot fail; if it ever did, `fallback` (a complete document that
/// ends the call cleanly) is answered rather than half a document.
pub fn document(fallback: &str, body: impl FnOnce(&mut W) -> io::Result<()>) -> String {
    let mut w = Writer::new(Vec::with_capacity(512));
    let written = w
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .and_then(|()| body(&mut w));
    match written
        .ok()
        .and_then(|()| String::from_utf8(w.into_inner()).ok())
    {
        Some(doc) => doc,
        None => fallback.to_owned(),
    }
}

/// `<name method="POST">url</name>` (Twilio's and Plivo's `<Redirect>`).
pub fn redirect(w: &mut W, url: &str) -> io::Result<()> {
    w.create_element("Redirect")
        .with_attribute(("method", "POST"))
        .write_text_content(BytesText::new(url))?;
    Ok(())
}

/// Whole seconds for an attribute, at least 1.
pub fn secs(d: Duration) -> String {
    d.as_secs().max(1).to_string()
}
