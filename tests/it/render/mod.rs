//! The renderer: conformance with a reference encoder, pinned bytes, decoding back, sizes.

mod cli;
mod conformance;
mod eci;
mod framed;
mod plain_pins;
mod png_size;
mod props;
mod roundtrip;
mod styled;
mod versions;
