//! The age v1 payload (STREAM): ChaCha20-Poly1305 over 64 KiB chunks, nonce = 11-byte big-endian
//! chunk counter + a last-chunk flag. Chunks are independent once the counter is known, so each
//! batch of chunks is sealed or opened on every core while one thread reads the next batch and
//! another writes the previous one. Memory is three batches, whatever the file size.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use rayon::prelude::*;
use zeroize::Zeroizing;

/// Plaintext bytes per chunk, fixed by the age format.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Poly1305 tag bytes after each chunk.
pub const TAG_SIZE: usize = 16;
/// Bytes of one full chunk on disk.
pub const ENCRYPTED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_SIZE;
/// Chunks per batch by default: 64 x 64 KiB = 4 MiB per batch, 12 MiB in flight.
pub const DEFAULT_BATCH_CHUNKS: usize = 64;
/// Batches in circulation: one being read, one being sealed/opened, one being written.
const BUFFERS: usize = 3;

/// The key of one file's payload, derived from the file key and the payload nonce.
pub struct PayloadKey(pub(crate) Zeroizing<[u8; 32]>);

impl PayloadKey {
    /// Wraps raw key bytes (HKDF-SHA-256(nonce, "payload", file key)).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PayloadKey(Zeroizing::new(bytes))
    }
}

impl std::fmt::Debug for PayloadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayloadKey(..)")
    }
}

/// Why a payload could not be encrypted or decrypted.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Reading the input or writing the output failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A chunk did not authenticate: wrong key, or modified, truncated or extended ciphertext.
    #[error(
        "payload chunk {chunk} (at payload offset {offset}) failed authentication: the file was modified, truncated or extended{hint}"
    )]
    Authentication {
        /// Index of the chunk, from 0.
        chunk: u64,
        /// Offset of the chunk from the start of the payload.
        offset: u64,
        /// Extra explanation for the last chunk.
        hint: &'static str,
    },
    /// The payload ended before its final chunk.
    #[error("the payload is truncated: it ends {0} bytes into a chunk, before a complete tag")]
    Truncated(usize),
    /// A final chunk with no data after a full chunk: forbidden by the format.
    #[error("the payload ends with an empty chunk, which the age format forbids")]
    EmptyLastChunk,
}

/// Tuning for the payload pipeline.
#[derive(Debug, Clone, Copy)]
pub struct PayloadOptions {
    /// Chunks sealed or opened together in parallel.
    pub batch_chunks: usize,
}

impl Default for PayloadOptions {
    fn default() -> Self {
        PayloadOptions { batch_chunks: DEFAULT_BATCH_CHUNKS }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Seal,
    Open,
}

/// One batch: chunk slots of `ENCRYPTED_CHUNK_SIZE` bytes each, the bytes read into each slot,
/// the counter of the first chunk, and whether the batch ends the input.
struct Batch {
    buf: Vec<u8>,
    lens: Vec<usize>,
    first: u64,
    eof: bool,
}

/// Encrypts everything `reader` yields into `writer` as an age payload. Returns plaintext bytes.
pub fn encrypt<R: Read + Send, W: Write + Send>(key: &PayloadKey, reader: R, writer: W, options: PayloadOptions) -> Result<u64, PayloadError> {
    run(key, reader, writer, options, Direction::Seal)
}

/// Decrypts an age payload from `reader` into `writer`. Returns plaintext bytes. On error the
/// writer may hold plaintext of chunks that authenticated: callers write to a temporary file.
pub fn decrypt<R: Read + Send, W: Write + Send>(key: &PayloadKey, reader: R, writer: W, options: PayloadOptions) -> Result<u64, PayloadError> {
    run(key, reader, writer, options, Direction::Open)
}

fn run<R: Read + Send, W: Write + Send>(key: &PayloadKey, mut reader: R, mut writer: W, options: PayloadOptions, dir: Direction) -> Result<u64, PayloadError> {
    let batch_chunks = options.batch_chunks.max(1);
    let record = if dir == Direction::Seal { CHUNK_SIZE } else { ENCRYPTED_CHUNK_SIZE };
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.0.as_slice()));
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        free_tx.send(Vec::new()).expect("channel has room for every buffer");
    }
    let (read_tx, read_rx) = sync_channel::<io::Result<Batch>>(1);
    let (write_tx, write_rx) = sync_channel::<Batch>(1);

    std::thread::scope(|scope| {
        let reader_thread = scope.spawn(move || read_batches(&mut reader, record, batch_chunks, &free_rx, &read_tx));
        let writer_free = free_tx.clone();
        let writer_thread = scope.spawn(move || write_batches(&mut writer, &write_rx, &writer_free));

        let mut result = Ok(0u64);
        for batch in read_rx.iter() {
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    result = Err(PayloadError::Io(e));
                    break;
                }
            };
            match process(&cipher, &mut batch, dir) {
                Ok(plain) => {
                    if let Ok(total) = &mut result {
                        *total += plain;
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            let eof = batch.eof;
            if write_tx.send(batch).is_err() || eof {
                break;
            }
        }
        // Closing the channels lets both threads finish whatever happened here.
        drop(write_tx);
        drop(read_rx);
        drop(free_tx);
        let wrote = writer_thread.join().expect("writer thread does not panic");
        reader_thread.join().expect("reader thread does not panic");
        let total = result?;
        wrote?;
        Ok(total)
    })
}

/// Reads `n` bytes unless the input ends first; returns how many were read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Fills batches of `record`-byte chunks. A full batch is followed by a one-byte look-ahead so
/// the final chunk is known (the last-chunk flag is part of its nonce); that byte starts the next.
fn read_batches<R: Read>(reader: &mut R, record: usize, batch_chunks: usize, free: &Receiver<Vec<u8>>, out: &SyncSender<io::Result<Batch>>) {
    let mut carry: Option<u8> = None;
    let mut first = 0u64;
    while let Ok(mut buf) = free.recv() {
        buf.resize(batch_chunks * ENCRYPTED_CHUNK_SIZE, 0);
        let filled = fill_batch(reader, &mut buf, record, batch_chunks, &mut carry, first);
        let batch = filled.map(|(lens, eof)| {
            let batch = Batch { buf, lens, first, eof };
            first += batch.lens.len() as u64;
            batch
        });
        let stop = batch.as_ref().map_or(true, |b| b.eof);
        if out.send(batch).is_err() || stop {
            return;
        }
    }
}

fn fill_batch<R: Read>(reader: &mut R, buf: &mut [u8], record: usize, batch_chunks: usize, carry: &mut Option<u8>, first: u64) -> io::Result<(Vec<usize>, bool)> {
    let mut lens = Vec::with_capacity(batch_chunks);
    for slot in buf.chunks_mut(ENCRYPTED_CHUNK_SIZE).take(batch_chunks) {
        let slot = &mut slot[..record];
        let mut n = 0;
        if let Some(byte) = carry.take() {
            slot[0] = byte;
            n = 1;
        }
        n += read_full(reader, &mut slot[n..])?;
        if n < record {
            // An empty slot only stands for a chunk when the whole input is empty.
            if n > 0 || (lens.is_empty() && first == 0) {
                lens.push(n);
            }
            return Ok((lens, true));
        }
        lens.push(n);
    }
    let mut next = [0u8; 1];
    if read_full(reader, &mut next)? == 0 {
        return Ok((lens, true));
    }
    *carry = Some(next[0]);
    Ok((lens, false))
}

/// Seals or opens every chunk of the batch in place, in parallel; returns plaintext bytes.
fn process(cipher: &ChaCha20Poly1305, batch: &mut Batch, dir: Direction) -> Result<u64, PayloadError> {
    let count = batch.lens.len();
    let (first, eof) = (batch.first, batch.eof);
    let lens = &mut batch.lens;
    let results: Vec<Result<usize, PayloadError>> = batch
        .buf
        .par_chunks_mut(ENCRYPTED_CHUNK_SIZE)
        .zip(lens.par_iter_mut())
        .enumerate()
        .map(|(i, (slot, len))| {
            let counter = first + i as u64;
            let last = eof && i + 1 == count;
            let nonce = chunk_nonce(counter, last);
            match dir {
                Direction::Seal => {
                    let tag = cipher.encrypt_in_place_detached(&nonce, b"", &mut slot[..*len]).expect("a 64 KiB chunk is within ChaCha20's limits");
                    slot[*len..*len + TAG_SIZE].copy_from_slice(&tag);
                    let plain = *len;
                    *len += TAG_SIZE;
                    Ok(plain)
                }
                Direction::Open => {
                    let plain = len.checked_sub(TAG_SIZE).ok_or(PayloadError::Truncated(*len))?;
                    if last && plain == 0 && counter > 0 {
                        return Err(PayloadError::EmptyLastChunk);
                    }
                    let (data, tag) = slot[..*len].split_at_mut(plain);
                    cipher.decrypt_in_place_detached(&nonce, b"", data, Tag::from_slice(tag)).map_err(|_| PayloadError::Authentication {
                        chunk: counter,
                        offset: counter * ENCRYPTED_CHUNK_SIZE as u64,
                        hint: if last { " (the final chunk: the file may be cut short or have bytes appended)" } else { "" },
                    })?;
                    *len = plain;
                    Ok(plain)
                }
            }
        })
        .collect();
    let mut plain = 0u64;
    for result in results {
        plain += result? as u64;
    }
    Ok(plain)
}

fn write_batches<W: Write>(writer: &mut W, batches: &Receiver<Batch>, free: &SyncSender<Vec<u8>>) -> io::Result<()> {
    for batch in batches.iter() {
        for (slot, len) in batch.buf.chunks(ENCRYPTED_CHUNK_SIZE).zip(&batch.lens) {
            writer.write_all(&slot[..*len])?;
        }
        let eof = batch.eof;
        // The reader may already be gone; a buffer nobody takes is simply dropped.
        let _ = free.try_send(batch.buf);
        if eof {
            break;
        }
    }
    // No flush here: the caller flushes once the whole file is written. (The `age` crate's
    // ArmoredWriter miscounts its line length when flushed mid-stream, in 0.12.1.)
    Ok(())
}

/// The 12-byte STREAM nonce: 11-byte big-endian counter, then 1 for the final chunk.
fn chunk_nonce(counter: u64, last: bool) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    *Nonce::from_slice(&nonce)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> PayloadKey {
        PayloadKey::from_bytes([7u8; 32])
    }

    fn seal(plain: &[u8], batch: usize) -> Vec<u8> {
        let mut out = Vec::new();
        encrypt(&key(), plain, &mut out, PayloadOptions { batch_chunks: batch }).expect("encrypt");
        out
    }

    fn open(cipher: &[u8], batch: usize) -> Result<Vec<u8>, PayloadError> {
        let mut out = Vec::new();
        decrypt(&key(), cipher, &mut out, PayloadOptions { batch_chunks: batch })?;
        Ok(out)
    }

    #[test]
    fn empty_plaintext_is_one_empty_final_chunk() {
        let sealed = seal(b"", 4);
        assert_eq!(sealed.len(), TAG_SIZE);
        assert_eq!(open(&sealed, 4).unwrap(), b"");
    }

    #[test]
    fn exact_multiple_of_chunk_size_ends_with_a_full_final_chunk() {
        let plain = vec![3u8; CHUNK_SIZE * 2];
        let sealed = seal(&plain, 1);
        assert_eq!(sealed.len(), ENCRYPTED_CHUNK_SIZE * 2);
        assert_eq!(open(&sealed, 3).unwrap(), plain);
    }

    #[test]
    fn truncation_at_a_chunk_boundary_is_caught() {
        let sealed = seal(&vec![1u8; CHUNK_SIZE * 3 + 10], 2);
        let cut = &sealed[..ENCRYPTED_CHUNK_SIZE * 2];
        assert!(matches!(open(cut, 2), Err(PayloadError::Authentication { chunk: 1, .. })));
    }

    #[test]
    fn appended_empty_chunk_and_short_tail_are_rejected() {
        let sealed = seal(&[1u8; 100], 2);
        let mut longer = sealed.clone();
        longer.extend_from_slice(&[0u8; 5]);
        assert!(matches!(open(&longer, 2), Err(PayloadError::Authentication { chunk: 0, .. })));
        assert!(matches!(open(&sealed[..10], 2), Err(PayloadError::Truncated(10))));
        assert!(matches!(open(b"", 2), Err(PayloadError::Truncated(0))));
    }

    #[test]
    fn a_wrong_key_fails_on_the_first_chunk() {
        let sealed = seal(b"secret weights", 2);
        let mut out = Vec::new();
        let err = decrypt(&PayloadKey::from_bytes([8u8; 32]), &sealed[..], &mut out, PayloadOptions::default()).unwrap_err();
        assert!(matches!(err, PayloadError::Authentication { chunk: 0, .. }), "{err}");
        assert!(out.is_empty());
    }

    #[test]
    fn nonce_layout_matches_the_spec() {
        let nonce = chunk_nonce(0x0102, true);
        assert_eq!(nonce.as_slice(), &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn round_trip_any_length_and_batch(len in 0usize..(CHUNK_SIZE * 5 + 3), batch in 1usize..5, seed: u8) {
            let plain: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
            let sealed = seal(&plain, batch);
            let chunks = len.div_ceil(CHUNK_SIZE).max(1);
            prop_assert_eq!(sealed.len(), len + chunks * TAG_SIZE);
            // Batching never changes the bytes: a single-chunk batch gives the same ciphertext.
            prop_assert_eq!(&sealed, &seal(&plain, 1));
            prop_assert_eq!(open(&sealed, batch + 1).unwrap(), plain);
        }

        #[test]
        fn any_flipped_bit_is_rejected(len in 1usize..(CHUNK_SIZE * 2 + 50), pos: prop::sample::Index, bit in 0u8..8) {
            let plain = vec![9u8; len];
            let mut sealed = seal(&plain, 2);
            let at = pos.index(sealed.len());
            sealed[at] ^= 1 << bit;
            prop_assert!(open(&sealed, 2).is_err());
        }
    }
}
