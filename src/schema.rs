//! The JSON Schema of the flow file format, generated from the serde types in
//! `flow::raw` so it can never drift from what the loader accepts.

use crate::flow::raw::SchemaFile;

/// The schema as pretty-printed JSON.
pub fn flow_schema_json() -> String {
    let mut schema = schemars::schema_for!(SchemaFile);
    schema.insert("title".into(), "Switchboard flow file".into());
    schema.insert(
        "description".into(),
        "A file in a Switchboard flow directory: a flow (`[flow]` plus node tables such as `[menu.main]`), and/or agent groups, schedules, caller lists, number mappings and settings.".into(),
    );
    serde_json::to_string_pretty(&schema).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::raw::{RawNodeKind, SECTIONS};

    #[test]
    fn schema_lists_every_node_type_and_section_and_nothing_else() {
        let v: serde_json::Value = serde_json::from_str(&flow_schema_json()).unwrap();
        let props = v["properties"].as_object().unwrap();
        let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected: Vec<&str> = RawNodeKind::TYPES.iter().chain(SECTIONS).copied().collect();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(v["additionalProperties"], serde_json::Value::Bool(false));
    }
}
