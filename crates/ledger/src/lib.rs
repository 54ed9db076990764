//! soberana-ledger.
