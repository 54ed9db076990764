//! soberana-finance.
