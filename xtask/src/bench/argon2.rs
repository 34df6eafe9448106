//! The machine's own argon2id rate: Roster's parameters (OWASP: 19 MiB, 2 passes, 1 lane),
//! one hashing thread per core, nothing else running. Password creations are judged
//! against it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use roster_domain::hashing::Argon2id;

use crate::Result;

/// The name of this phase in `--only` and in the results.
pub const NAME: &str = "argon2id";

/// Hashes per second over `duration` (after `warmup`) with `threads` threads.
pub fn rate(threads: usize, warmup: Duration, duration: Duration) -> Result<f64> {
    let stop = Arc::new(AtomicBool::new(false));
    let counted = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let (stop, counted, measuring) = (stop.clone(), counted.clone(), measuring.clone());
            thread::spawn(move || {
                let argon = Argon2id::owasp();
                while !stop.load(Ordering::Relaxed) {
                    argon.hash_blocking("bench-password-0123").map_err(|err| err.to_string())?;
                    if measuring.load(Ordering::Relaxed) {
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    thread::sleep(warmup);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    thread::sleep(duration);
    let hashes = counted.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().map_err(|_| "an argon2id thread panicked".to_owned())??;
    }
    Ok(hashes as f64 / elapsed.as_secs_f64())
}
