//! soberana-store.
