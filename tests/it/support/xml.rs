//! XML documents as trees, to compare our output with reference documents
//! regardless of attribute order and of how empty elements are written.

use quick_xml::Reader;
use quick_xml::events::Event;
use std::collections::BTreeMap;

/// An element: name, attributes, and children (elements or text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct El {
    pub(crate) name: String,
    pub(crate) attrs: BTreeMap<String, String>,
    pub(crate) children: Vec<Node>,
}

/// A child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    El(El),
    Text(String),
}

fn push_text(el: &mut El, s: &str) {
    if let Some(Node::Text(t)) = el.children.last_mut() {
        t.push_str(s);
    } else if !s.is_empty() {
        el.children.push(Node::Text(s.to_owned()));
    }
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> El {
    let name = e.name().as_ref().to_owned();
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.expect("well-formed attribute");
            let key = a.key.as_ref().to_owned();
            (
                key,
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .expect("valid attribute value")
                    .into_owned(),
            )
        })
        .collect();
    El {
        name,
        attrs,
        children: Vec::new(),
    }
}

/// Parse a document into its root element; panics on malformed XML.
pub(crate) fn tree(xml: &str) -> El {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack = vec![El {
        name: "#document".into(),
        attrs: BTreeMap::new(),
        children: Vec::new(),
    }];
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("malformed XML: {e}\n{xml}"));
        let top = stack.last_mut().expect("a parent");
        match event {
            Event::Start(e) => stack.push(element(&e)),
            Event::Empty(e) => top.children.push(Node::El(element(&e))),
            Event::End(_) => {
                let done = stack.pop().expect("an open element");
                stack
                    .last_mut()
                    .expect("a parent")
                    .children
                    .push(Node::El(done));
            }
            Event::Text(t) => push_text(top, &t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().expect("valid character reference") {
                    Some(c) => c.to_string(),
                    None => match &*r.xml10_content() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => panic!("unknown entity &{other};"),
                    },
                };
                push_text(top, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut doc = stack.pop().expect("the document");
    assert!(stack.is_empty(), "unclosed elements in\n{xml}");
    assert_eq!(doc.children.len(), 1, "one root element");
    match doc.children.remove(0) {
        Node::El(root) => root,
        Node::Text(t) => panic!("text outside the root: {t}"),
    }
}
