//! The runner: a background task on every instance that executes due steps of playbook runs.

use std::sync::{Mutex, PoisonError, Weak};

use tokio::sync::Notify;

/// The runners of this process, woken by [`wake`].
static RUNNERS: Mutex<Vec<Weak<Notify>>> = Mutex::new(Vec::new());

/// Wakes every runner of this process at once (new runs, approvals, retried deliveries); each
/// keeps the wake-up until it next waits, so none is lost while it is busy.
pub fn wake() {
    let mut runners = RUNNERS.lock().unwrap_or_else(PoisonError::into_inner);
    runners.retain(|weak| match weak.upgrade() {
        Some(notify) => {
            notify.notify_one();
            true
        }
        None => false,
    });
}
