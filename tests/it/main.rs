//! The integration tests, one binary: the crate and its dev-dependencies are linked once, and
//! the helpers in `common` and `render_common` are compiled once for every area below.

mod common;
mod render_common;

mod analytics;
mod api;
mod cli;
mod ops;
mod origin;
mod render;
mod store;
mod webhooks;
