//! Signals: the first SIGTERM or SIGINT asks for a graceful stop, a second one stops at once.

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Cancels `token` on the first SIGTERM or SIGINT; a second one exits the process at once
/// (exit code 130; leases then lapse after `reconciler.lease_expiry`).
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        if wait_signal().await.is_err() {
            return;
        }
        info!("signal received: finishing passes in flight (send it again to stop at once)");
        token.cancel();
        if wait_signal().await.is_ok() {
            warn!("second signal: stopping now");
            std::process::exit(130);
        }
    });
}

async fn wait_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
