//! soberana-wire.
