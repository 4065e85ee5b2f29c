//! Work spread over every core, results in input order: key generation and signing are
//! independent per certificate, and RSA key generation or a 1000-node cluster is most of
//! a run's time.

use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::thread;

/// Below this many items of light work (an ECDSA or Ed25519 key, a signature: tens of
/// microseconds each) starting threads costs more than it saves: a thread start is
/// ~50-100 µs on the 2-core development machine.
const LIGHT_ITEMS_PER_THREAD: usize = 32;

/// The cores this process may use, asked once: the standard library reads the cgroup's
/// CPU quota files on every call.
pub(crate) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// Whether work of `items` items, each `heavy` (an RSA key) or not, is worth threads.
pub(crate) fn worth_threads(items: usize, heavy: bool) -> bool {
    cores() > 1
        && (if heavy {
            items > 1
        } else {
            items >= 2 * LIGHT_ITEMS_PER_THREAD
        })
}

/// `f` over `items`, on every core when `heavy` or when there are many of them (see
/// `worth_threads`), else on this thread; the results come back in the order of `items`,
/// so output never depends on scheduling.
pub(crate) fn map_weighted<T: Send, R: Send>(
    items: Vec<T>,
    heavy: bool,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    if !worth_threads(items.len(), heavy) {
        return items.into_iter().map(f).collect();
    }
    let workers = if heavy {
        cores()
    } else {
        cores().min(items.len() / LIGHT_ITEMS_PER_THREAD)
    };
    map_on(items, workers, f)
}

/// `f` over `items` on every core (scoped threads over contiguous chunks); the results
/// come back in the order of `items`, so output never depends on scheduling.
#[cfg(test)]
pub(crate) fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    map_on(items, cores(), f)
}

fn map_on<T: Send, R: Send>(items: Vec<T>, workers: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let workers = workers.min(items.len());
    if workers <= 1 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(workers);
    let mut chunks: Vec<Vec<T>> = Vec::with_capacity(workers);
    let mut rest = items.into_iter();
    loop {
        let chunk: Vec<T> = rest.by_ref().take(per).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    let f = &f;
    thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_order_of_its_input() {
        for n in [0, 1, 2, 3, 7, 100, 1001] {
            let items: Vec<usize> = (0..n).collect();
            let out = super::map(items.clone(), |i| i * 2);
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
            for heavy in [false, true] {
                let out = super::map_weighted(items.clone(), heavy, |i| i * 2);
                assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
            }
        }
    }
}
