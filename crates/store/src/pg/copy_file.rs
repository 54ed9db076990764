//! Reading PostgreSQL's binary `COPY` format, the files of an export, into
//! SQLite values, for a move onto SQLite (see `moving.rs`).

use std::io::Read;

use rusqlite::types::Value;

/// Reads a file in PostgreSQL's binary `COPY` format row by row.
pub(super) struct CopyReader<R: Read> {
    input: R,
    fields: usize,
}

/// The largest field PostgreSQL writes.
const MAX_FIELD: usize = 1 << 30;

impl<R: Read> CopyReader<R> {
    pub(super) fn new(mut input: R, fields: usize) -> Result<Self, String> {
        let mut signature = [0u8; 11];
        input
            .read_exact(&mut signature)
            .map_err(|e| format!("no COPY header: {e}"))?;
        if &signature != b"PGCOPY\n\xff\r\n\0" {
            return Err("not in PostgreSQL's binary COPY format".into());
        }
        let mut reader = Self { input, fields };
        let flags = reader.u32()?;
        if flags & (1 << 16) != 0 {
            return Err("the rows carry OIDs, which soberana never writes".into());
        }
        let extension = reader.u32()? as usize;
        if extension > MAX_FIELD {
            return Err("the header extension is too long".into());
        }
        reader.bytes(extension)?;
        Ok(reader)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let mut b = [0u8; 4];
        self.input
            .read_exact(&mut b)
            .map_err(|e| format!("cut short: {e}"))?;
        Ok(u32::from_be_bytes(b))
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let read = (&mut self.input)
            .take(n as u64)
            .read_to_end(&mut out)
            .map_err(|e| format!("cut short: {e}"))?;
        if read != n {
            return Err(format!("cut short: a field of {n} bytes has {read}"));
        }
        Ok(out)
    }

    /// The next row's fields (`None` for NULL), or `None` after the last.
    #[allow(clippy::type_complexity)]
    pub(super) fn row(&mut self) -> Result<Option<Vec<Option<Vec<u8>>>>, String> {
        let mut count = [0u8; 2];
        self.input
            .read_exact(&mut count)
            .map_err(|e| format!("cut short: {e}"))?;
        let count = i16::from_be_bytes(count);
        if count == -1 {
            let mut rest = [0u8; 1];
            return match self.input.read(&mut rest) {
                Ok(0) => Ok(None),
                _ => Err("bytes after the end of the rows".into()),
            };
        }
        if usize::try_from(count).ok() != Some(self.fields) {
            return Err(format!(
                "a row of {count} fields where the table has {}",
                self.fields
            ));
        }
        let mut fields = Vec::with_capacity(self.fields);
        for _ in 0..self.fields {
            let len = self.u32()? as i32;
            if len == -1 {
                fields.push(None);
            } else {
                let len = usize::try_from(len)
                    .ok()
                    .filter(|l| *l <= MAX_FIELD)
                    .ok_or_else(|| format!("a field of length {len}"))?;
                fields.push(Some(self.bytes(len)?));
            }
        }
        Ok(Some(fields))
    }
}

/// One field of a PostgreSQL export as the SQLite column takes it. The
/// export names no types; its fields' lengths tell the integers (8 bytes,
/// `BIGINT`; 4, `INTEGER`) from the yes/no values (1 byte, `BOOLEAN`).
pub(super) fn to_sqlite(field: Option<Vec<u8>>, declared: &str) -> Result<Value, String> {
    let Some(bytes) = field else {
        return Ok(Value::Null);
    };
    match declared {
        "INTEGER" => match bytes.as_slice() {
            [a, b, c, d, e, f, g, h] => Ok(Value::Integer(i64::from_be_bytes([
                *a, *b, *c, *d, *e, *f, *g, *h,
            ]))),
            [a, b, c, d] => Ok(Value::Integer(i64::from(i32::from_be_bytes([
                *a, *b, *c, *d,
            ])))),
            [0] => Ok(Value::Integer(0)),
            [1] => Ok(Value::Integer(1)),
            other => Err(format!("{} bytes where an integer was due", other.len())),
        },
        "TEXT" => String::from_utf8(bytes)
            .map(Value::Text)
            .map_err(|_| "text that is not UTF-8".into()),
        "BLOB" => Ok(Value::Blob(bytes)),
        other => Err(format!("a SQLite column of type `{other}`")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn field(bytes: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    fn copy_file(rows: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let mut out = b"PGCOPY\n\xff\r\n\0".to_vec();
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        for row in rows {
            out.extend_from_slice(&i16::try_from(row.len()).unwrap().to_be_bytes());
            for f in row {
                out.extend_from_slice(f);
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    #[test]
    fn binary_copy_rows_read_back_as_sqlite_values() {
        let null = (-1i32).to_be_bytes().to_vec();
        let bytes = copy_file(&[vec![
            field(&7i64.to_be_bytes()),
            field(&[1]),
            field(b"mx"),
            null,
        ]]);
        let mut reader = CopyReader::new(bytes.as_slice(), 4).unwrap();
        let row = reader.row().unwrap().unwrap();
        let kinds = ["INTEGER", "INTEGER", "TEXT", "BLOB"];
        let values: Vec<Value> = row
            .into_iter()
            .zip(kinds)
            .map(|(f, k)| to_sqlite(f, k).unwrap())
            .collect();
        assert_eq!(
            values,
            vec![
                Value::Integer(7),
                Value::Integer(1),
                Value::Text("mx".into()),
                Value::Null
            ]
        );
        assert!(reader.row().unwrap().is_none());
    }

    #[test]
    fn a_cut_or_padded_copy_file_is_refused() {
        let whole = copy_file(&[vec![field(&7i64.to_be_bytes())]]);
        let cut = &whole[..whole.len() - 5];
        let mut reader = CopyReader::new(cut, 1).unwrap();
        assert!(reader.row().unwrap_err().contains("cut short"));
        let mut padded = whole.clone();
        padded.push(0);
        let mut reader = CopyReader::new(padded.as_slice(), 1).unwrap();
        reader.row().unwrap();
        assert!(reader.row().unwrap_err().contains("after the end"));
        let mut reader = CopyReader::new(whole.as_slice(), 2).unwrap();
        assert!(reader.row().unwrap_err().contains("1 fields"));
        assert!(to_sqlite(Some(vec![2]), "INTEGER").is_err());
    }
}
