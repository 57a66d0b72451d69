//! Diagrams of flows (DOT and Mermaid).
