//! JSON-RPC 2.0 messages of the WebSocket protocol (pure: no I/O). See docs/PROTOCOL.md.
