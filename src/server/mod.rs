//! The loopback WebSocket server (tokio-tungstenite): bind, handshake checks, limits, dispatch.
