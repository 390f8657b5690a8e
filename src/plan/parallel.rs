//! Running independent Gate calls a bounded number at a time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Runs `work(i)` for each index in `jobs` on at most `parallel` threads; `done(i, result)`
/// is called on this thread as results come in.
pub fn bounded<T: Send>(
    jobs: &[usize],
    parallel: usize,
    work: impl Fn(usize) -> T + Sync,
    mut done: impl FnMut(usize, T),
) {
    if jobs.is_empty() {
        return;
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, jobs.len()) {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = jobs.get(k) else { break };
                    if tx.send((i, work(i))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, result) in rx {
            done(i, result);
        }
    });
}

/// `work(i)` for every `i` in `0..n`, at most `parallel` at a time, results in order.
pub fn map<T: Send>(n: usize, parallel: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let jobs: Vec<usize> = (0..n).collect();
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    bounded(&jobs, parallel, work, |i, r| out[i] = Some(r));
    // Every job sends its result before the scope ends.
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn results_in_order_and_never_more_than_parallel_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let out = map(20, 3, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(2));
            running.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 3);
    }
}
