//! Adversarial tests of the connection layer: header-read timeout, connection caps, idle WebSockets, rate limits, document creation.
