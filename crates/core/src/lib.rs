//! soberana-core.
