//! soberana-desk: the officer desk.
