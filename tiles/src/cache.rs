//! A least-recently-used cache bounded in bytes: each entry has a weight (its size in memory, as
//! the caller estimates it) and the oldest entries go when the total passes the budget. Keys are
//! canonical strings made by the caller from what the value depends on — never from the URL as sent
//! (its parameter order, `v=`, a token).

use std::hash::Hash;

use lru::LruCache;

/// An LRU cache holding at most `budget` bytes of values.
pub struct ByteCache<K: Hash + Eq, V> {
    entries: LruCache<K, (V, usize)>,
    bytes: usize,
    budget: usize,
}

impl<K: Hash + Eq, V: Clone> ByteCache<K, V> {
    pub fn new(budget: usize) -> ByteCache<K, V> {
        ByteCache {
            entries: LruCache::unbounded(),
            bytes: 0,
            budget,
        }
    }

    /// The value of `key`, marked as used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        self.entries.get(key).map(|(v, _)| v.clone())
    }

    /// Stores `value` weighing `bytes`, evicting the least recently used entries to stay within
    /// the budget; a value larger than the whole budget is not kept.
    pub fn put(&mut self, key: K, value: V, bytes: usize) {
        if let Some((_, old)) = self.entries.pop(&key) {
            self.bytes -= old;
        }
        if bytes > self.budget {
            return;
        }
        self.entries.put(key, (value, bytes));
        self.bytes += bytes;
        self.evict();
    }

    /// The value of `key`, or `make()` stored (weighing `bytes`, which may be changed later with
    /// [`ByteCache::weigh`]).
    pub fn get_or_insert(&mut self, key: K, make: impl FnOnce() -> V, bytes: usize) -> V
    where
        K: Clone,
    {
        if let Some(v) = self.get(&key) {
            return v;
        }
        let value = make();
        self.put(key, value.clone(), bytes);
        value
    }

    /// Changes the weight of `key` (a value whose size is known only once computed).
    pub fn weigh(&mut self, key: &K, bytes: usize) {
        if let Some(entry) = self.entries.peek_mut(key) {
            self.bytes = self.bytes - entry.1 + bytes;
            entry.1 = bytes;
        }
        self.evict();
    }

    fn evict(&mut self) {
        while self.bytes > self.budget {
            match self.entries.pop_lru() {
                Some((_, (_, w))) => self.bytes -= w,
                None => break,
            }
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_its_budget_dropping_the_oldest() {
        let mut c: ByteCache<u32, u32> = ByteCache::new(100);
        c.put(1, 1, 40);
        c.put(2, 2, 40);
        assert_eq!(c.get(&1), Some(1)); // 1 is now the most recent
        c.put(3, 3, 40);
        assert_eq!((c.get(&2), c.get(&1), c.get(&3)), (None, Some(1), Some(3)));
        assert_eq!(c.bytes(), 80);
        c.put(4, 4, 500);
        assert_eq!(c.get(&4), None, "larger than the budget: not kept");
        assert_eq!(c.get(&1), Some(1)); // 3 is now the oldest
        c.weigh(&1, 90);
        assert!(c.bytes() == 90 && c.get(&1).is_some() && c.get(&3).is_none());
        c.put(1, 5, 10);
        assert_eq!((c.get(&1), c.bytes()), (Some(5), 10));
        c.clear();
        assert!(c.is_empty() && c.bytes() == 0);
    }
}
