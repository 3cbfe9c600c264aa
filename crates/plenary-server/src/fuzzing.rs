//! Entry points for the fuzz targets in `fuzz/`: thin wrappers that expose the server's private
//! decoding and judging to `cargo fuzz` without making them part of the crate's API.
