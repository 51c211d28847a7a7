//! Bounded work: how much one request may ask for, and how many heavy requests run at once.
//!
//! * [`check`] refuses a request whose size — H3 cells (or units) × time steps × neighbourhood — is
//!   over the configured limit, with a 413 naming the limit and what to narrow; [`cells_in`] estimates
//!   a study area's cells at any resolution from its res-7 cover without building it.
//! * [`Pool`] admits heavy work (anything that queries the store or computes a layer): at most
//!   `workers` run, at most `queue` wait, and any more are answered 503 with `Retry-After`.
//! * [`Interrupt`] stops a cancelled request's query: when the request's future is dropped (the
//!   client went away, or the per-request timeout fired) the DuckDB query it started is interrupted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;
use h3o::Resolution;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Seconds a client is told to wait when the queue is full.
pub const RETRY_AFTER_SECONDS: u64 = 2;

/// Refuses work over `limit` units, naming the limit and what the request could narrow.
pub fn check(units: u64, limit: u64, what: &str) -> Result<(), ApiError> {
    if units > limit {
        return Err(ApiError::PayloadTooLarge(format!(
            "{what}: {units} work units (cells × steps × neighbourhood) is over this server's limit of {limit}; \
             narrow the area (unit=), coarsen the resolution (res=) or ask for fewer steps (steps=, k=)"
        )));
    }
    Ok(())
}

/// The number of cells of a k-ring of radius `k` (the neighbourhood a Gi* sums over).
pub fn ring_size(k: u32) -> u64 {
    let k = u64::from(k);
    3 * k * (k + 1) + 1
}

/// Res-7 cells of the study area per unit (a cell counts for the village nearest its centre and for
/// every unit above), from which the cells at any resolution are estimated (×7 per finer step).
pub struct AreaCells {
    res7: HashMap<UnitId, u64>,
}

impl AreaCells {
    pub fn new(region: &Region) -> AreaCells {
        let cells = fengqiao_analytics::cells::study_area(region, Resolution::Seven);
        let places = fengqiao_analytics::places::cell_places(region, &cells);
        let mut res7: HashMap<UnitId, u64> = HashMap::new();
        *res7.entry(0).or_default() = cells.len() as u64;
        for place in &places {
            let mut up = Some(place.village);
            while let Some(u) = up {
                if u != 0 {
                    *res7.entry(u).or_default() += 1;
                }
                up = region.parent(u);
            }
        }
        AreaCells { res7 }
    }

    /// Estimated study-area cells of `unit` (the region when `None`) at `res`: at least one.
    pub fn cells_in(&self, unit: Option<UnitId>, res: Resolution) -> u64 {
        let n7 = self.res7.get(&unit.unwrap_or(0)).copied().unwrap_or(0).max(1);
        let r = u8::from(res) as i32;
        if r >= 7 {
            n7.saturating_mul(7u64.pow((r - 7) as u32))
        } else {
            (n7 / 7u64.pow((7 - r) as u32)).max(1)
        }
    }
}

tokio::task_local! {
    /// The token (by name) whose request the current task serves, set by the route guard.
    pub static CALLER: String;
}

/// Heavy work admitted at most `workers` at a time, with at most `queue` waiting; and for any one
/// token at most `per_token` at a time with at most `per_token_queue` of its own waiting behind
/// them (beyond: 503 for that token only), so one client cannot take every worker nor the queue.
pub struct Pool {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    per_token: usize,
    per_token_queue: usize,
    by_token: Mutex<HashMap<String, Arc<TokenShare>>>,
}

/// One token's share: its permits, and how many of its requests hold or wait for one.
struct TokenShare {
    permits: Arc<Semaphore>,
    users: AtomicUsize,
}

/// A request's claim on its token's share (forgotten when it ends).
struct Claim(Arc<TokenShare>);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.users.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Leave to run: a worker, and the caller's share of them.
pub struct Permit {
    _worker: OwnedSemaphorePermit,
    _share: Option<(OwnedSemaphorePermit, Claim)>,
}

impl Pool {
    pub fn new(workers: usize, queue: usize, per_token: usize, per_token_queue: usize) -> Pool {
        Pool {
            running: Arc::new(Semaphore::new(workers)),
            waiting: AtomicUsize::new(0),
            queue,
            per_token: per_token.max(1),
            per_token_queue,
            by_token: Mutex::new(HashMap::new()),
        }
    }

    /// A permit to run, waiting in line if need be: first for the calling token's share, then for
    /// a worker; 503 when the token's own line or the queue is full.
    pub async fn admit(&self) -> Result<Permit, ApiError> {
        let share = match CALLER.try_with(String::clone) {
            Ok(name) => {
                let share = {
                    let mut shares = self.by_token.lock().expect("per-token shares");
                    shares.retain(|_, s| s.users.load(Ordering::Acquire) > 0);
                    Arc::clone(shares.entry(name).or_insert_with(|| {
                        Arc::new(TokenShare {
                            permits: Arc::new(Semaphore::new(self.per_token)),
                            users: AtomicUsize::new(0),
                        })
                    }))
                };
                if share.users.fetch_add(1, Ordering::AcqRel) >= self.per_token + self.per_token_queue {
                    share.users.fetch_sub(1, Ordering::AcqRel);
                    return Err(ApiError::Busy(RETRY_AFTER_SECONDS));
                }
                let claim = Claim(Arc::clone(&share));
                let permit = Arc::clone(&share.permits)
                    .acquire_owned()
                    .await
                    .map_err(|_| ApiError::Busy(RETRY_AFTER_SECONDS))?;
                Some((permit, claim))
            }
            Err(_) => None,
        };
        let worker = self.worker().await?;
        Ok(Permit {
            _worker: worker,
            _share: share,
        })
    }

    async fn worker(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(permit) = Arc::clone(&self.running).try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::Busy(RETRY_AFTER_SECONDS));
        }
        // Leaves the queue however the wait ends (granted, or the request dropped).
        struct Leave<'a>(&'a AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _leave = Leave(&self.waiting);
        Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Busy(RETRY_AFTER_SECONDS))
    }

    /// Requests waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Workers free now.
    pub fn free(&self) -> usize {
        self.running.available_permits()
    }
}

/// Lowers the calling worker thread's scheduling priority (once per thread): heavy work yields the
/// processor to the threads answering from the caches (Linux: a thread's own nice value).
pub fn lower_priority() {
    thread_local! {
        static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    LOWERED.with(|done| {
        if !done.get() {
            #[cfg(target_os = "linux")]
            // SAFETY: gettid and setpriority on the calling thread only; failure is harmless.
            unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, 10);
            }
            done.set(true);
        }
    });
}

/// Interrupts the DuckDB query of a request whose future is dropped before its work is done.
/// The worker clears `busy` (under the lock) before it hands the connection back, so a late
/// interrupt never reaches another request's query.
pub struct Interrupt {
    handle: Arc<duckdb::InterruptHandle>,
    busy: Arc<Mutex<bool>>,
}

impl Interrupt {
    pub fn new(handle: Arc<duckdb::InterruptHandle>, busy: Arc<Mutex<bool>>) -> Interrupt {
        Interrupt { handle, busy }
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        let busy = self.busy.lock().expect("busy flag");
        if *busy {
            self.handle.interrupt();
            tracing::info!("a cancelled request's query was interrupted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_token_gets_its_share_of_the_workers_and_waits_or_is_refused_beyond() {
        let pool = Arc::new(Pool::new(4, 8, 2, 1));
        let (a, b) = CALLER
            .scope("abuser".to_string(), async {
                (pool.admit().await.unwrap(), pool.admit().await.unwrap())
            })
            .await;
        // A third waits for the abuser's share (not for a free worker: two are free)...
        let waiter = {
            let pool = Arc::clone(&pool);
            tokio::spawn(CALLER.scope("abuser".to_string(), async move { pool.admit().await.map(|_| ()) }))
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        // ... a fourth is refused, while another token is served at once.
        let fourth = CALLER.scope("abuser".to_string(), pool.admit()).await;
        assert!(matches!(fourth, Err(ApiError::Busy(_))));
        let other = CALLER.scope("wall".to_string(), pool.admit()).await.unwrap();
        drop((a, other));
        waiter.await.unwrap().unwrap();
        drop(b);
        assert_eq!(pool.free(), 4);
    }

    #[tokio::test]
    async fn the_queue_overflows_into_503_and_drains() {
        let pool = Arc::new(Pool::new(1, 1, 1, 0));
        let first = pool.admit().await.unwrap();
        let waiter = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.admit().await.map(|_| ()) })
        };
        while pool.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(pool.admit().await, Err(ApiError::Busy(_))));
        drop(first);
        waiter.await.unwrap().unwrap();
        assert_eq!((pool.waiting(), pool.free()), (0, 1));
    }

    #[test]
    fn work_over_the_limit_names_the_limit() {
        let err = check(5_000_000_000, 60_000_000, "/api/trends").unwrap_err();
        assert!(matches!(err, ApiError::PayloadTooLarge(_)));
        assert!(err.to_string().contains("60000000"), "{err}");
        assert!(check(10, 10, "x").is_ok());
        assert_eq!((ring_size(0), ring_size(1), ring_size(5)), (1, 7, 91));
    }

    #[test]
    fn area_cells_scale_by_seven_per_resolution() {
        let region = Region::chenzhou();
        let area = AreaCells::new(&region);
        let n7 = area.cells_in(None, Resolution::Seven);
        assert!(n7 > 3_000, "{n7}");
        assert_eq!(area.cells_in(None, Resolution::Nine), n7 * 49);
        let county = region.id("431002").unwrap();
        let c = area.cells_in(Some(county), Resolution::Seven);
        assert!(c > 10 && c < n7, "{c}");
    }
}
