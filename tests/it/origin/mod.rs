//! The image origin: tokens in, images out, over HTTP and as a process.

mod http;
mod process;
mod server;
mod styled;
mod token_render;
mod tokens;
