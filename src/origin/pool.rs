//! The render pool: a fixed set of render threads behind a bounded queue, so renders never run on
//! the async workers.
//!
//! Before it, renders ran on the reactor under a semaphore as wide as the worker count: under a
//! flood of worst-case renders (2 000 px, ECC L, ~3 KB of content) every worker sat in a render,
//! the backlog piled up unbounded in the scheduler, `/healthz` took over a second and nothing
//! ever answered 503. Here a render is a job on a queue with a fixed capacity: when it is full
//! the request is answered `503` + `Retry-After` at once, and cache hits, `304`s and the operator
//! endpoints keep their worker threads.
//!
//! Every render the origin does goes through [`RenderPool::run`] (plain and styled alike): it is
//! the one dispatch point, so nothing rendering can bypass the bound.
//!
//! Render threads run at a lower scheduling priority (nice +10) where the OS allows it: on a
//! machine whose every core is rendering, the async workers (hits, probes, accepts) still get the
//! CPU first.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// A unit of work; it sends its own result back.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The queue is full: answer 503 and let the client retry.
    Full,
    /// The pool's threads are gone (a render panicked, or the process is exiting).
    Gone,
}

/// A fixed number of render threads fed from a bounded queue.
#[derive(Debug)]
pub struct RenderPool {
    queue: SyncSender<Job>,
    /// Jobs queued or running, for `/metrics`.
    depth: Arc<AtomicUsize>,
    threads: usize,
    capacity: usize,
}

impl RenderPool {
    /// Starts `threads` render threads with room for `capacity` queued jobs (beyond the ones
    /// running).
    pub fn new(threads: usize, capacity: usize) -> RenderPool {
        let threads = threads.max(1);
        let (queue, jobs) = mpsc::sync_channel::<Job>(capacity);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = Arc::clone(&jobs);
            std::thread::Builder::new()
                .name(format!("render-{i}"))
                .spawn(move || work(&jobs))
                .expect("spawning a render thread");
        }
        RenderPool {
            queue,
            depth: Arc::new(AtomicUsize::new(0)),
            threads,
            capacity,
        }
    }

    /// Runs `f` on a render thread and waits for its result; `Full` at once if the queue is.
    /// If the caller goes away before its job starts, the job is skipped.
    pub async fn run<T, F>(&self, f: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let depth = Arc::clone(&self.depth);
        let job: Job = Box::new(move || {
            // The request was cancelled (client gone, or its flight taken over): no render.
            let out = (!tx.is_closed()).then(f);
            // Off the depth before the result is sent, so a caller that has its result never
            // sees its own job still counted (the pool test raced on that).
            depth.fetch_sub(1, Ordering::Relaxed);
            if let Some(out) = out {
                let _ = tx.send(out);
            }
        });
        self.depth.fetch_add(1, Ordering::Relaxed);
        match self.queue.try_send(job) {
            Ok(()) => rx.await.map_err(|_| PoolError::Gone),
            Err(e) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                Err(match e {
                    TrySendError::Full(_) => PoolError::Full,
                    TrySendError::Disconnected(_) => PoolError::Gone,
                })
            }
        }
    }

    /// Jobs queued or running right now.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// One render thread: take a job, run it, repeat until the pool is dropped.
fn work(jobs: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next job; the job runs outside it.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Nice +10 for the calling thread (Linux: priorities are per thread). Best effort: a failure
/// only means renders compete with the reactor on equal terms.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        let _ = rustix::process::setpriority_process(Some(tid), 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_jobs_and_refuses_beyond_its_queue() {
        let pool = Arc::new(RenderPool::new(1, 1));
        assert_eq!(pool.run(|| 40 + 2).await, Ok(42));
        // Occupy the one thread until told to go on.
        let (started_tx, started_rx) = oneshot::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let p = Arc::clone(&pool);
        let busy = tokio::spawn(async move {
            p.run(move || {
                let _ = started_tx.send(());
                let _ = release_rx.recv();
                1
            })
            .await
        });
        started_rx.await.expect("the job started");
        // One job fits the queue; the next is refused at once.
        let p = Arc::clone(&pool);
        let queued = tokio::spawn(async move { p.run(|| 2).await });
        while pool.depth() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.run(|| 3).await, Err(PoolError::Full));
        release_tx.send(()).unwrap();
        assert_eq!(busy.await.unwrap(), Ok(1));
        assert_eq!(queued.await.unwrap(), Ok(2));
        assert_eq!(pool.depth(), 0);
    }
}
