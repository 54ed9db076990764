//! The benchmark behind `soberana bench trace` (feature `synthetic`):
//! a batch of trace requests against a generated record set, with the time
//! to build the index, the time to trace the batch, memory per record and,
//! on a smaller file, the CSV ingest rate.
//!
//! The aim: 10,000 serials traced against 10 million records in under 10
//! seconds, index included.

use std::fmt;
use std::time::Instant;

use serde::Serialize;

use crate::error::FieldError;
use crate::ingest::parse_records;
use crate::records::RecordSetBuilder;
use crate::stats::TraceStats;
use crate::synthetic::{SyntheticOptions, generate, requests, write_csv};
use crate::trace::trace_batch;

/// What to measure.
#[derive(Debug, Clone, Serialize)]
pub struct BenchOptions {
    /// Records in the set (default 10,000,000).
    pub records: u64,
    /// Firearms traced in the batch (default 10,000).
    pub serials: usize,
    /// Rows for the CSV ingest measurement (default 1,000,000; the CSV text
    /// is held in memory).
    pub ingest_rows: u64,
    /// Generator seed.
    pub seed: u64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            records: 10_000_000,
            serials: 10_000,
            ingest_rows: 1_000_000,
            seed: 1,
        }
    }
}

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The options.
    pub options: BenchOptions,
    /// Firearms the records describe.
    pub firearms: u64,
    /// Seconds to generate and store the records (normalising, interning).
    pub load_secs: f64,
    /// Seconds to sort and index them.
    pub index_secs: f64,
    /// Seconds to trace the batch.
    pub trace_secs: f64,
    /// Seconds to compute the statistics of the batch.
    pub stats_secs: f64,
    /// Index and trace together: the aim is under 10 s.
    pub index_and_trace_secs: f64,
    /// Bytes the record set holds.
    pub memory_bytes: usize,
    /// Bytes per record.
    pub bytes_per_record: f64,
    /// Traces complete, partial and failed.
    pub complete: u64,
    /// See `complete`.
    pub partial: u64,
    /// See `complete`.
    pub failed: u64,
    /// Median time-to-crime of the batch, days.
    pub median_time_to_crime_days: Option<u32>,
    /// CSV rows validated and loaded per second.
    pub ingest_rows_per_sec: f64,
}

/// Runs the benchmark.
pub fn run(opts: &BenchOptions) -> Result<BenchReport, FieldError> {
    let syn = SyntheticOptions {
        records: opts.records,
        seed: opts.seed,
        planted: Vec::new(),
    };
    let started = Instant::now();
    let mut builder = RecordSetBuilder::with_capacity(usize::try_from(opts.records).unwrap_or(0));
    let firearms = generate(&syn, |r| builder.push(r))?;
    let load_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let set = builder.finish();
    let index_secs = started.elapsed().as_secs_f64();

    let batch = requests(opts.seed, firearms, opts.serials, opts.seed ^ 0x5eed);
    let started = Instant::now();
    let results = trace_batch(&set, &batch);
    let trace_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let stats = TraceStats::of(&results);
    let stats_secs = started.elapsed().as_secs_f64();

    let memory_bytes = set.memory().total();
    drop(set);

    let mut csv = Vec::new();
    let small = SyntheticOptions {
        records: opts.ingest_rows.min(opts.records),
        ..syn
    };
    write_csv(&small, &mut csv).map_err(|e| FieldError::new("csv", e.to_string()))?;
    let started = Instant::now();
    let loaded =
        parse_records(csv.as_slice()).map_err(|e| FieldError::new("csv", e.to_string()))?;
    let ingest_secs = started.elapsed().as_secs_f64();

    Ok(BenchReport {
        options: opts.clone(),
        firearms,
        load_secs,
        index_secs,
        trace_secs,
        stats_secs,
        index_and_trace_secs: index_secs + trace_secs,
        memory_bytes,
        bytes_per_record: memory_bytes as f64 / opts.records.max(1) as f64,
        complete: stats.all.complete,
        partial: stats.all.partial,
        failed: stats.all.failed,
        median_time_to_crime_days: stats.time_to_crime.median_days,
        ingest_rows_per_sec: loaded.len() as f64 / ingest_secs.max(1e-9),
    })
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "records: {} ({} firearms), generated and stored in {:.2} s, {:.1} bytes per record ({:.0} MiB)",
            o.records,
            self.firearms,
            self.load_secs,
            self.bytes_per_record,
            self.memory_bytes as f64 / (1 << 20) as f64
        )?;
        writeln!(
            f,
            "index (sort by manufacturer and serial): {:.2} s",
            self.index_secs
        )?;
        writeln!(
            f,
            "trace of {} serials: {:.3} s ({:.1} µs each); {} complete, {} partial, {} failed; median time-to-crime {} days",
            o.serials,
            self.trace_secs,
            self.trace_secs * 1e6 / o.serials.max(1) as f64,
            self.complete,
            self.partial,
            self.failed,
            self.median_time_to_crime_days
                .map_or_else(|| "-".into(), |d| d.to_string())
        )?;
        writeln!(f, "statistics of the batch: {:.3} s", self.stats_secs)?;
        writeln!(
            f,
            "index and trace: {:.2} s (aim: under 10 s)",
            self.index_and_trace_secs
        )?;
        write!(
            f,
            "CSV ingest ({} rows): {:.0} rows/s",
            o.ingest_rows.min(o.records),
            self.ingest_rows_per_sec
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_reports_every_figure() {
        let r = run(&BenchOptions {
            records: 20_000,
            serials: 500,
            ingest_rows: 5_000,
            seed: 3,
        })
        .unwrap();
        assert_eq!(r.complete + r.partial + r.failed, 500);
        assert!(r.complete > 0 && r.failed > 0);
        assert!(r.bytes_per_record > 40.0);
        assert!(r.ingest_rows_per_sec > 0.0);
        assert!(r.to_string().contains("trace of 500 serials"));
    }
}
