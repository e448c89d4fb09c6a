//! `qr-origin serve`: validate the config, bind, log where to look, serve until a signal.

use std::sync::Arc;

use crate::clock::SystemClock;
use crate::config::ServeArgs;
use crate::render::Format;
use crate::server;
use crate::token::ImageClaims;

/// Content of the sample image URL logged at start-up.
const SAMPLE_CONTENT: &str = "https://example.com/hello-from-qr-origin";

/// Runs the service on a multi-threaded runtime until SIGTERM/Ctrl-C and the drain finish.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = args.into_config()?;
    // Before the runtime starts: its epoll and blocking threads count against the same limit.
    let fds = crate::server::rlimit::fit(&mut config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (listener, state) = server::bind(config, Arc::new(SystemClock)).await?;
        let addr = listener.local_addr()?;
        let sample = state.image_url(&ImageClaims::new(SAMPLE_CONTENT, Format::Png, 400));
        if let Some(ops) = state.ops_addr {
            tracing::info!(%ops, "operator endpoints (/healthz, /readyz, /metrics) on http://{ops}");
        }
        tracing::info!(
            %addr,
            public_url = %state.public_url,
            max_connections = state.config.max_connections,
            nofile = fds.map(|f| f.soft),
            signer = state.keyring.signer_kid(),
            cache_bytes = state.config.cache_bytes,
            max_renders = state.config.max_renders,
            "listening on http://{addr}"
        );
        tracing::info!("sample image (no expiry): {sample}");
        let signals = {
            let state = state.clone();
            let delay = state.config.shutdown_delay;
            tokio::spawn(async move { state.shutdown.on_signals(delay).await })
        };
        server::run(listener, state).await;
        signals.abort();
        Ok(())
    })
}
