//! What one server instance keeps in memory for the gateway: a short-lived cache of block
//! decisions and the streaming detectors of the deployments whose traffic it was sent.
//!
//! The block cache answers the gateway's check without a database read for at most
//! [`BLOCK_TTL`]; a block or lift made by this instance updates it at once, one made by another
//! instance is seen when the entry expires, so every instance agrees within `BLOCK_TTL`.
//!
//! Detector state is per instance by nature (it is the detectors' memory of each client's recent
//! queries): a client whose requests a load balancer spreads over several instances is seen in
//! part by each. Route a deployment's event stream by client id (or send it to one instance) when
//! that matters. Everything here is bounded: at most [`MAX_DEPLOYMENTS`] monitors (least recently
//! fed ones are dropped), each tracking a number of clients sized from its input dimensions, and at
//! most [`MAX_CACHED_BLOCKS`] cached decisions.
//!
//! `AppState` has no slot for area-owned memory, so instances find theirs in a process-wide map
//! keyed by the address of their shared state (stable while the instance lives; several instances
//! in one process, as in tests, each get their own).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use warden_monitor::detect::{Monitor, MonitorConfig, ReferenceProfile};

use super::blocks::BlockStatus;
use crate::state::{AppInner, AppState};

/// How long a cached block decision is trusted before the database is asked again.
pub const BLOCK_TTL: Duration = Duration::from_secs(1);
/// Most cached block decisions per instance (the cache is emptied when full).
pub const MAX_CACHED_BLOCKS: usize = 100_000;
/// Most deployments whose detectors one instance keeps.
pub const MAX_DEPLOYMENTS: usize = 16;
/// Memory aimed at per deployment's detectors; sets how many clients a monitor tracks.
pub const MONITOR_BUDGET_BYTES: usize = 128 << 20;
/// Fewest and most clients one deployment's monitor tracks.
pub const MONITOR_CLIENTS: (usize, usize) = (256, 20_000);
/// Instances one process keeps memory for (tests start many; a real process runs one).
const MAX_INSTANCES: usize = 64;

/// One instance's gateway memory.
#[derive(Default)]
pub struct Memory {
    blocks: Mutex<HashMap<(String, String), CachedBlock>>,
    deployments: Mutex<HashMap<String, bool>>,
    monitors: Mutex<HashMap<String, MonitorSlot>>,
}

struct CachedBlock {
    status: Option<BlockStatus>,
    fetched: Instant,
}

/// A deployment's detectors, and which reference profile they were built with.
pub struct MonitorSlot {
    /// The detectors, locked while a batch of events is fed.
    pub monitor: Arc<Mutex<Monitor>>,
    /// The `updated_at` of the settings row the monitor was built from (0: none).
    pub settings_version: i64,
    /// Input dimensions the client budget was sized for.
    pub dims: usize,
    last_used: Instant,
}

/// A snapshot of one deployment's detectors in this instance.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, utoipa::ToSchema)]
pub struct MonitorStats {
    /// Events fed since the monitor was built.
    pub events: u64,
    /// Clients tracked now.
    pub tracked_clients: usize,
    /// Clients forgotten to stay within the budget.
    pub evicted_clients: u64,
    /// Most clients tracked at once.
    pub max_clients: usize,
}

struct Registry {
    instances: HashMap<usize, (Arc<Memory>, Instant)>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry { instances: HashMap::new() }));

/// Locks `mutex`, taking over its data if a panic poisoned it (the data stays consistent: every
/// critical section here only inserts, removes or replaces whole entries).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// This instance's memory.
pub fn of(app: &AppState) -> Arc<Memory> {
    let inner: &AppInner = app;
    let key = std::ptr::from_ref(inner) as usize;
    let mut registry = lock(&REGISTRY);
    let now = Instant::now();
    if let Some((memory, used)) = registry.instances.get_mut(&key) {
        *used = now;
        return memory.clone();
    }
    if registry.instances.len() >= MAX_INSTANCES
        && let Some(oldest) = registry.instances.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| *k)
    {
        registry.instances.remove(&oldest);
    }
    let memory = Arc::new(Memory::default());
    registry.instances.insert(key, (memory.clone(), now));
    memory
}

impl Memory {
    /// The cached block decision for `(deployment, client)` if still fresh; `Some(None)` means
    /// "known not blocked".
    pub fn cached_block(&self, deployment_id: &str, client_id: &str) -> Option<Option<BlockStatus>> {
        let cache = lock(&self.blocks);
        let entry = cache.get(&(deployment_id.to_owned(), client_id.to_owned()))?;
        (entry.fetched.elapsed() < BLOCK_TTL).then(|| entry.status.clone())
    }

    /// Remembers a block decision read from the database or just written.
    pub fn remember_block(&self, deployment_id: &str, client_id: &str, status: Option<BlockStatus>) {
        let mut cache = lock(&self.blocks);
        if cache.len() >= MAX_CACHED_BLOCKS {
            cache.clear();
        }
        cache.insert((deployment_id.to_owned(), client_id.to_owned()), CachedBlock { status, fetched: Instant::now() });
    }

    /// Forgets the cached decision (after a change whose new state is not at hand).
    pub fn forget_block(&self, deployment_id: &str, client_id: &str) {
        lock(&self.blocks).remove(&(deployment_id.to_owned(), client_id.to_owned()));
    }

    /// Whether asset `id` was seen to be a deployment (`None`: not looked up yet). Kinds never
    /// change and assets are never deleted, so the answer is kept.
    pub fn known_deployment(&self, id: &str) -> Option<bool> {
        lock(&self.deployments).get(id).copied()
    }

    /// Remembers whether asset `id` is a deployment.
    pub fn remember_deployment(&self, id: &str, is_deployment: bool) {
        let mut known = lock(&self.deployments);
        if known.len() >= MAX_CACHED_BLOCKS {
            known.clear();
        }
        known.insert(id.to_owned(), is_deployment);
    }

    /// The monitor of `deployment_id`, built (or rebuilt, when its settings changed since) with
    /// `reference`, its client budget sized for inputs of `dims` dimensions (those of the first
    /// batch it is built for).
    pub fn monitor(&self, deployment_id: &str, settings_version: i64, dims: usize, reference: impl FnOnce() -> Option<ReferenceProfile>) -> Arc<Mutex<Monitor>> {
        let mut monitors = lock(&self.monitors);
        if let Some(slot) = monitors.get_mut(deployment_id)
            && slot.settings_version == settings_version
        {
            slot.last_used = Instant::now();
            return slot.monitor.clone();
        }
        if !monitors.contains_key(deployment_id)
            && monitors.len() >= MAX_DEPLOYMENTS
            && let Some(oldest) = monitors.iter().min_by_key(|(_, slot)| slot.last_used).map(|(k, _)| k.clone())
        {
            tracing::info!(deployment = %oldest, "dropping the least recently fed deployment's detectors to stay within budget");
            monitors.remove(&oldest);
        }
        let config = monitor_config(dims);
        let monitor = Arc::new(Mutex::new(Monitor::new(config, reference(), format!("deployment:{deployment_id}"))));
        monitors.insert(deployment_id.to_owned(), MonitorSlot { monitor: monitor.clone(), settings_version, dims, last_used: Instant::now() });
        monitor
    }

    /// The state of `deployment_id`'s detectors in this instance, if it has any.
    pub fn monitor_stats(&self, deployment_id: &str) -> Option<MonitorStats> {
        let (monitor, dims) = {
            let monitors = lock(&self.monitors);
            let slot = monitors.get(deployment_id)?;
            (slot.monitor.clone(), slot.dims)
        };
        let monitor = lock(&monitor);
        Some(MonitorStats {
            events: monitor.events(),
            tracked_clients: monitor.tracked_clients(),
            evicted_clients: monitor.evicted_clients(),
            max_clients: max_clients(dims),
        })
    }

    /// Drops `deployment_id`'s detectors (its reference profile changed).
    pub fn drop_monitor(&self, deployment_id: &str) {
        lock(&self.monitors).remove(deployment_id);
    }
}

/// Clients one monitor tracks for inputs of `dims` dimensions: the budget over an estimate of
/// one client's state (the PRADA history of earlier queries, plus its capped maps).
pub fn max_clients(dims: usize) -> usize {
    let history = MonitorConfig::default().prada_history;
    let per_client = history.saturating_mul(dims.max(1)).saturating_mul(8).saturating_add(32 << 10);
    (MONITOR_BUDGET_BYTES / per_client).clamp(MONITOR_CLIENTS.0, MONITOR_CLIENTS.1)
}

/// The detector settings of a deployment's monitor.
pub fn monitor_config(dims: usize) -> MonitorConfig {
    MonitorConfig { max_clients: max_clients(dims), ..MonitorConfig::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_budget_shrinks_with_dimensions_within_bounds() {
        assert_eq!(max_clients(16), (128 << 20) / (128 * 16 * 8 + (32 << 10)));
        assert!(max_clients(16) > max_clients(512));
        assert_eq!(max_clients(1 << 20), MONITOR_CLIENTS.0);
        assert_eq!(max_clients(0), max_clients(1));
    }

    #[test]
    fn cached_decisions_expire_and_can_be_forgotten() {
        let memory = Memory::default();
        assert!(memory.cached_block("d", "c").is_none());
        memory.remember_block("d", "c", None);
        assert_eq!(memory.cached_block("d", "c").map(|s| s.is_none()), Some(true));
        memory.forget_block("d", "c");
        assert!(memory.cached_block("d", "c").is_none());
    }

    #[test]
    fn monitors_are_bounded_and_rebuilt_when_settings_change() {
        let memory = Memory::default();
        let first = memory.monitor("d0", 0, 4, || None);
        assert!(Arc::ptr_eq(&first, &memory.monitor("d0", 0, 4, || None)));
        assert!(!Arc::ptr_eq(&first, &memory.monitor("d0", 1, 4, || None)), "new settings, new monitor");
        for i in 1..=MAX_DEPLOYMENTS {
            memory.monitor(&format!("d{i}"), 0, 4, || None);
        }
        assert_eq!(lock(&memory.monitors).len(), MAX_DEPLOYMENTS);
        assert!(memory.monitor_stats("d0").is_none(), "the least recently fed deployment was dropped");
    }
}
