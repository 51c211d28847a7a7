//! One column of [`super::CaseColumns`]: values of its own (read from the store), or a slice of a
//! columns file mapped into memory (read from the page cache with no copy and no zeroing — on a
//! 2 M-case store, filling fresh memory was 40 % of a command-line heat map).

use std::ops::Deref;
use std::sync::Arc;

use bytemuck::Pod;
use memmap2::Mmap;

/// Values of one column.
#[derive(Clone)]
pub(crate) enum Column<T: Pod> {
    Owned(Vec<T>),
    /// `len` values from byte `offset` of a mapped file (aligned for `T`).
    Mapped {
        map: Arc<Mmap>,
        offset: usize,
        len: usize,
    },
}

impl<T: Pod> Column<T> {
    pub(crate) fn with_capacity(n: usize) -> Column<T> {
        Column::Owned(Vec::with_capacity(n))
    }

    /// The values as a vector to add to (a mapped column is copied first; only a load adds).
    pub(crate) fn vec(&mut self) -> &mut Vec<T> {
        if let Column::Mapped { .. } = self {
            *self = Column::Owned(self.to_vec());
        }
        match self {
            Column::Owned(v) => v,
            Column::Mapped { .. } => unreachable!("made owned above"),
        }
    }
}

impl<T: Pod> Default for Column<T> {
    fn default() -> Column<T> {
        Column::Owned(Vec::new())
    }
}

impl<T: Pod> Deref for Column<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Column::Owned(v) => v,
            Column::Mapped { map, offset, len } => {
                bytemuck::cast_slice(&map[*offset..*offset + len * std::mem::size_of::<T>()])
            }
        }
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
