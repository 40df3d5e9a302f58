//! The ring or perf buffer behind `wasm_bpf_buffer_poll`. libbpf hands samples to a
//! callback that cannot reach the guest (the store is borrowed by the poll), so each sample
//! is queued here, in order, and the host delivers the queue to the guest afterwards: every
//! sample reaches the guest, none is replaced by a later one.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use libbpf_rs::{MapCore, MapType, PerfBuffer, PerfBufferBuilder, RingBuffer, RingBufferBuilder};

/// Samples in arrival order, stored back to back.
#[derive(Default)]
pub struct Queue {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// How many samples were delivered already.
    next: usize,
    /// Perf samples the kernel dropped (ring buffers drop at reserve time, in BPF).
    pub lost: u64,
}

impl Queue {
    pub fn push(&mut self, sample: &[u8]) {
        self.bytes.extend_from_slice(sample);
        self.ends.push(self.bytes.len());
    }

    pub fn is_empty(&self) -> bool {
        self.next == self.ends.len()
    }

    /// The next undelivered sample.
    pub fn peek(&self) -> Option<&[u8]> {
        let end = *self.ends.get(self.next)?;
        let start = match self.next {
            0 => 0,
            n => self.ends[n - 1],
        };
        self.bytes.get(start..end)
    }

    /// Marks the sample `peek` returned as delivered; storage is reused once all are.
    pub fn pop(&mut self) {
        self.next = (self.next + 1).min(self.ends.len());
        if self.is_empty() {
            self.bytes.clear();
            self.ends.clear();
            self.next = 0;
        }
    }
}

enum Kind {
    Ring(RingBuffer<'static>),
    Perf(PerfBuffer<'static>),
}

/// A libbpf ring or perf buffer feeding a `Queue`.
pub struct Buffer {
    kind: Kind,
    pub queue: Arc<Mutex<Queue>>,
}

pub fn lock(q: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    q.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Buffer {
    /// Builds the buffer for `map` by its type; `None` for a map that is neither.
    pub fn new<M: MapCore>(map: &M) -> Option<libbpf_rs::Result<Buffer>> {
        let queue = Arc::new(Mutex::new(Queue::default()));
        let q = queue.clone();
        let kind = match map.map_type() {
            MapType::RingBuf => {
                let mut b = RingBufferBuilder::new();
                if let Err(e) = b.add(map, move |data: &[u8]| {
                    lock(&q).push(data);
                    0
                }) {
                    return Some(Err(e));
                }
                b.build().map(Kind::Ring)
            }
            MapType::PerfEventArray => {
                let lost = queue.clone();
                PerfBufferBuilder::new(map)
                    .sample_cb(move |_cpu, data: &[u8]| lock(&q).push(data))
                    .lost_cb(move |_cpu, n| lock(&lost).lost += n)
                    .build()
                    .map(Kind::Perf)
            }
            _ => return None,
        };
        Some(kind.map(|kind| Buffer { kind, queue }))
    }

    /// Waits up to `timeout` for samples and queues them; a signal ends the wait early.
    pub fn poll(&self, timeout: Duration) -> Result<(), i32> {
        let r = match &self.kind {
            Kind::Ring(rb) => rb.poll(timeout),
            Kind::Perf(pb) => pb.poll(timeout),
        };
        match r {
            Err(e) if e.kind() != libbpf_rs::ErrorKind::Interrupted => {
                Err(-super::abi::errno_of(&e))
            }
            _ => Ok(()),
        }
    }

    pub fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        lock(&self.queue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keeps_order_and_reuses_storage() {
        let mut q = Queue::default();
        assert!(q.is_empty());
        assert_eq!(q.peek(), None);
        q.push(b"one");
        q.push(b"");
        q.push(b"three");
        assert_eq!(q.peek(), Some(&b"one"[..]));
        q.pop();
        assert_eq!(q.peek(), Some(&b""[..]));
        q.pop();
        q.push(b"four");
        assert_eq!(q.peek(), Some(&b"three"[..]));
        q.pop();
        assert_eq!(q.peek(), Some(&b"four"[..]));
        q.pop();
        assert!(q.is_empty());
        assert!(q.bytes.is_empty() && q.ends.is_empty());
        q.pop();
        assert!(q.is_empty());
    }
}
