//! JSON Schema of the flow file format.
