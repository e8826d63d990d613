//! [`run`]: the symbolic pickle machine. It executes one pickle's opcodes over an abstract stack,
//! metastack (MARK) and memo, exactly as CPython's `_pickle` would consume them, but instead of
//! importing and calling it records which callables would be imported and called, with where.
//!
//! Values are 16-byte [`Value`]s that point into the input; no opcode allocates unless the
//! pickle names a new global, builds a small tuple worth remembering, or grows the memo.
//! Items popped by `APPENDS`/`SETITEMS` are dropped, not stored.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::pickle::args::{long_value, show_bytes};
use crate::pickle::opcodes as op;
use crate::pickle::run::{End, Failure, Fault, FaultKind, Origin, PersistentIds, Run};
use crate::pickle::value::{Enc, Special, Value};
use crate::settings::Limits;

/// Longest tuple whose items the machine remembers (argument tuples, shapes, persistent ids).
const MAX_TUPLE: usize = 16;
/// Most tuple items remembered per pickle; later tuples become opaque.
const MAX_TUPLE_ITEMS: usize = 2_000_000;
/// Most remembered call results per pickle; later ones become plain objects.
const MAX_SPECIALS: usize = 65_536;
/// Most distinct globals per pickle before the analysis gives up (limit finding).
pub(super) const MAX_DISTINCT_GLOBALS: usize = 100_000;
/// Most distinct EXT codes, computed names, nested payloads and class mutations recorded.
pub(super) const MAX_RECORDS: usize = 256;
/// Deepest chain of joblib object arrays pickled inside joblib pickles.
const MAX_INNER_DEPTH: u32 = 4;

/// Runs the pickle starting at `start`. Returns its [`Run`] first, then those of any joblib
/// object arrays pickled inside it. `ops_left` is the opcode budget, shared by the caller across
/// the pickles of one stream.
pub(crate) fn run<'a>(
    data: &'a [u8],
    start: usize,
    limits: &Limits,
    ops_left: &mut u64,
) -> Vec<Run<'a>> {
    let mut inner = Vec::new();
    let main = run_one(data, start, limits, ops_left, 0, &mut inner);
    let mut runs = Vec::with_capacity(1 + inner.len());
    runs.push(main);
    runs.extend(inner);
    runs
}

pub(super) fn run_one<'a>(
    data: &'a [u8],
    start: usize,
    limits: &Limits,
    ops_left: &mut u64,
    depth: u32,
    inner: &mut Vec<Run<'a>>,
) -> Run<'a> {
    let mut m = Machine {
        data,
        pos: start,
        op: 0,
        op_off: start,
        ops_left: *ops_left,
        max_entries: limits.max_pickle_entries,
        limits_ops: limits.max_pickle_ops,
        depth,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
        sparse_memo: HashMap::new(),
        tuples: Vec::new(),
        specials: Vec::new(),
        index: HashMap::new(),
        wrapper: None,
        limits,
        inner,
        run: Run {
            start,
            end: start,
            outcome: End::Stop,
            protocol: None,
            ops: 0,
            globals: Vec::new(),
            ext: Vec::new(),
            dynamic: Vec::new(),
            nested: Vec::new(),
            global_builds: Vec::new(),
            persistent: PersistentIds::default(),
            arrays_skipped: 0,
            array_bytes_skipped: 0,
            opcodes_seen: [0; 4],
            inner: depth > 0,
        },
    };
    let before = m.ops_left;
    let outcome = match m.exec() {
        Ok(()) => End::Stop,
        Err(fault) => End::Fault(*fault),
    };
    *ops_left = m.ops_left;
    let mut run = m.run;
    run.ops = before - *ops_left;
    run.end = m.pos;
    run.outcome = outcome;
    run
}

/// The state of one pickle being executed.
pub(super) struct Machine<'a, 'l> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    /// The opcode being executed and its offset (for messages).
    pub(super) op: u8,
    pub(super) op_off: usize,
    pub(super) ops_left: u64,
    pub(super) max_entries: usize,
    pub(super) limits_ops: u64,
    pub(super) depth: u32,
    pub(super) stack: Vec<Value>,
    pub(super) marks: Vec<usize>,
    pub(super) memo: Vec<Value>,
    pub(super) sparse_memo: HashMap<u64, Value>,
    pub(super) tuples: Vec<Value>,
    pub(super) specials: Vec<Special>,
    pub(super) index: HashMap<(Cow<'a, str>, Cow<'a, str>), u32>,
    /// The parsed state dict of a joblib array wrapper being built: (stack slot of the dict, state).
    pub(super) wrapper: Option<(usize, crate::pickle::calls::WrapperState)>,
    pub(super) limits: &'l Limits,
    pub(super) inner: &'l mut Vec<Run<'a>>,
    pub(super) run: Run<'a>,
}

impl<'a> Machine<'a, '_> {
    fn exec(&mut self) -> Result<(), Failure> {
        loop {
            let Some(&code) = self.data.get(self.pos) else {
                self.op_off = self.pos;
                return Err(self.fault(
                    FaultKind::Truncated,
                    None,
                    "the input ends before the pickle's STOP opcode".to_owned(),
                ));
            };
            self.op = code;
            self.op_off = self.pos;
            self.pos += 1;
            if self.ops_left == 0 {
                let max = self.limits_ops;
                return Err(self.fault(
                    FaultKind::Budget,
                    Some(code),
                    format!("more than {max} opcodes (max_pickle_ops)"),
                ));
            }
            self.ops_left -= 1;
            self.run.opcodes_seen[usize::from(code >> 6)] |= 1 << (code & 63);
            match code {
                op::BININT1 => {
                    let b = self.take(1)?[0];
                    self.push(Value::Int(i64::from(b)))?;
                }
                op::BININT2 => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.push(Value::Int(i64::from(v)))?;
                }
                op::BININT => {
                    let v = i32::from_le_bytes(self.array()?);
                    self.push(Value::Int(i64::from(v)))?;
                }
                op::BINFLOAT => {
                    self.take(8)?;
                    self.push(Value::Opaque)?;
                }
                op::SHORT_BINUNICODE => {
                    let n = u64::from(self.take(1)?[0]);
                    self.push_str(Enc::Utf8, n)?;
                }
                op::BINUNICODE => {
                    let n = u64::from(u32::from_le_bytes(self.array()?));
                    self.push_str(Enc::Utf8, n)?;
                }
                op::BINUNICODE8 => {
                    let n = u64::from_le_bytes(self.array()?);
                    self.push_str(Enc::Utf8, n)?;
                }
                op::SHORT_BINBYTES => {
                    let n = u64::from(self.take(1)?[0]);
                    self.push_str(Enc::Bytes, n)?;
                }
                op::BINBYTES => {
                    let n = u64::from(u32::from_le_bytes(self.array()?));
                    self.push_str(Enc::Bytes, n)?;
                }
                op::BINBYTES8 | op::BYTEARRAY8 => {
                    let n = u64::from_le_bytes(self.array()?);
                    self.push_str(Enc::Bytes, n)?;
                }
                op::SHORT_BINSTRING => {
                    let n = u64::from(self.take(1)?[0]);
                    self.push_str(Enc::Latin1, n)?;
                }
                op::BINSTRING => {
                    let n = i32::from_le_bytes(self.array()?);
                    let n = u64::try_from(n)
                        .map_err(|_| self.malformed(format!("negative byte count {n}")))?;
                    self.push_str(Enc::Latin1, n)?;
                }
                op::MEMOIZE => {
                    let top = self.top()?;
                    let key = (self.memo.len() + self.sparse_memo.len()) as u64;
                    self.memo_put(key, top)?;
                }
                op::BINPUT => {
                    let key = u64::from(self.take(1)?[0]);
                    let top = self.top()?;
                    self.memo_put(key, top)?;
                }
                op::LONG_BINPUT => {
                    let key = u64::from(u32::from_le_bytes(self.array()?));
                    let top = self.top()?;
                    self.memo_put(key, top)?;
                }
                op::PUT => {
                    let key = self.line_int()?;
                    let key = u64::try_from(key)
                        .map_err(|_| self.malformed(format!("negative memo key {key}")))?;
                    let top = self.top()?;
                    self.memo_put(key, top)?;
                }
                op::BINGET => {
                    let key = u64::from(self.take(1)?[0]);
                    self.memo_get(key)?;
                }
                op::LONG_BINGET => {
                    let key = u64::from(u32::from_le_bytes(self.array()?));
                    self.memo_get(key)?;
                }
                op::GET => {
                    let key = self.line_int()?;
                    let key = u64::try_from(key)
                        .map_err(|_| self.malformed(format!("negative memo key {key}")))?;
                    self.memo_get(key)?;
                }
                op::MARK => {
                    if self.marks.len() >= self.max_entries {
                        let max = self.max_entries;
                        return Err(self.fault(
                            FaultKind::Limit,
                            Some(code),
                            format!("MARK nesting deeper than {max} (max_pickle_entries)"),
                        ));
                    }
                    self.marks.push(self.stack.len());
                }
                op::EMPTY_DICT => self.push(Value::Dict)?,
                op::EMPTY_LIST | op::EMPTY_SET | op::NEXT_BUFFER | op::NEWTRUE | op::NEWFALSE => {
                    self.push(Value::Opaque)?
                }
                op::EMPTY_TUPLE => self.push(Value::Tuple { start: 0, len: 0 })?,
                op::NONE => self.push(Value::None)?,
                op::APPEND => {
                    self.pop()?;
                    self.top()?;
                }
                op::APPENDS | op::ADDITEMS => {
                    let mark = self.pop_mark()?;
                    self.container_below(mark)?;
                    self.stack.truncate(mark);
                }
                op::SETITEM => {
                    if self.stack.len() < self.fence() + 3 {
                        return Err(self.underflow());
                    }
                    let dict_slot = self.stack.len() - 3;
                    self.note_dict_items(dict_slot, dict_slot + 1);
                    self.stack.truncate(dict_slot + 1);
                }
                op::SETITEMS => {
                    let mark = self.pop_mark()?;
                    self.container_below(mark)?;
                    if !(self.stack.len() - mark).is_multiple_of(2) {
                        return Err(self.malformed("odd number of items for SETITEMS".to_owned()));
                    }
                    self.note_dict_items(mark - 1, mark);
                    self.stack.truncate(mark);
                }
                op::DICT => {
                    let mark = self.pop_mark()?;
                    if !(self.stack.len() - mark).is_multiple_of(2) {
                        return Err(self.malformed("odd number of items for DICT".to_owned()));
                    }
                    // The new dict takes the mark's slot; its items sit right after it.
                    self.note_dict_items_at_mark(mark);
                    self.stack.truncate(mark);
                    self.push(Value::Dict)?;
                }
                op::LIST | op::FROZENSET => {
                    let mark = self.pop_mark()?;
                    self.stack.truncate(mark);
                    self.push(Value::Opaque)?;
                }
                op::TUPLE => {
                    let mark = self.pop_mark()?;
                    let tuple = self.make_tuple(mark);
                    self.stack.truncate(mark);
                    self.push(tuple)?;
                }
                op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                    let n = usize::from(code - op::TUPLE1 + 1);
                    if self.stack.len() < self.fence() + n {
                        return Err(self.underflow());
                    }
                    let at = self.stack.len() - n;
                    let tuple = self.make_tuple(at);
                    self.stack.truncate(at);
                    self.push(tuple)?;
                }
                op::POP => {
                    if self.stack.len() > self.fence() {
                        self.stack.pop();
                    } else if let Some(mark) = self.marks.pop() {
                        self.stack.truncate(mark);
                    } else {
                        return Err(self.underflow());
                    }
                }
                op::POP_MARK => {
                    let mark = self.pop_mark()?;
                    self.stack.truncate(mark);
                }
                op::DUP => {
                    let top = self.top()?;
                    self.push(top)?;
                }
                op::FRAME => {
                    let n = u64::from_le_bytes(self.array()?);
                    // CPython checks that the whole frame is present, then reads through it.
                    let rest = (self.data.len() - self.pos) as u64;
                    if n > rest {
                        return Err(self.fault(
                            FaultKind::Truncated,
                            Some(code),
                            format!("declares a {n}-byte frame but only {rest} bytes remain"),
                        ));
                    }
                }
                op::PROTO => {
                    let v = self.take(1)?[0];
                    if v > op::HIGHEST_PROTOCOL {
                        return Err(self.malformed(format!("unsupported pickle protocol {v}")));
                    }
                    self.run.protocol.get_or_insert(v);
                }
                op::STOP => {
                    self.pop()?;
                    return Ok(());
                }
                op::INT => {
                    let line = self.line()?;
                    let v = match line {
                        b"00" => Value::Int(0),
                        b"01" => Value::Int(1),
                        _ => self.parse_int(line)?,
                    };
                    self.push(v)?;
                }
                op::LONG => {
                    let line = self.line()?;
                    let digits = line.strip_suffix(b"L").unwrap_or(line);
                    let v = self.parse_int(digits)?;
                    self.push(v)?;
                }
                op::LONG1 => {
                    let n = usize::from(self.take(1)?[0]);
                    let bytes = self.take(n)?;
                    self.push(long_value(bytes))?;
                }
                op::LONG4 => {
                    let n = i32::from_le_bytes(self.array()?);
                    let n = usize::try_from(n)
                        .map_err(|_| self.malformed(format!("negative byte count {n}")))?;
                    let bytes = self.take(n)?;
                    self.push(long_value(bytes))?;
                }
                op::FLOAT => {
                    let line = self.line()?;
                    let ok = std::str::from_utf8(line)
                        .ok()
                        .is_some_and(|s| s.trim().parse::<f64>().is_ok());
                    if !ok {
                        return Err(
                            self.malformed(format!("invalid float literal {}", show_bytes(line)))
                        );
                    }
                    self.push(Value::Opaque)?;
                }
                op::STRING => {
                    let start = self.pos;
                    let line = self.line()?;
                    let quoted = line.len() >= 2
                        && line[0] == line[line.len() - 1]
                        && matches!(line[0], b'\'' | b'"');
                    if !quoted {
                        return Err(self.malformed("the STRING argument must be quoted".to_owned()));
                    }
                    let len = u32::try_from(line.len() - 2).ok();
                    let v = len.map_or(Value::Opaque, |len| Value::Str {
                        enc: Enc::Escaped,
                        len,
                        off: (start + 1) as u64,
                    });
                    self.push(v)?;
                }
                op::UNICODE => {
                    let start = self.pos;
                    let line = self.line()?;
                    let v = u32::try_from(line.len()).map_or(Value::Opaque, |len| Value::Str {
                        enc: Enc::RawUnicodeEscape,
                        len,
                        off: start as u64,
                    });
                    self.push(v)?;
                }
                op::GLOBAL => {
                    let module = self.line_text()?;
                    let name = self.line_text()?;
                    let g = self.global(
                        Cow::Borrowed(module),
                        Cow::Borrowed(name),
                        Origin::Opcode(code),
                    )?;
                    self.push(Value::Global(g))?;
                }
                op::STACK_GLOBAL => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let v = self.stack_global(module, name)?;
                    self.push(v)?;
                }
                op::INST => {
                    let module = self.line_text()?;
                    let name = self.line_text()?;
                    let mark = self.pop_mark()?;
                    let args = self.make_tuple(mark);
                    self.stack.truncate(mark);
                    let g = self.global(
                        Cow::Borrowed(module),
                        Cow::Borrowed(name),
                        Origin::Opcode(code),
                    )?;
                    let v = self.call(Value::Global(g), args)?;
                    self.push(v)?;
                }
                op::OBJ => {
                    let mark = self.pop_mark()?;
                    if self.stack.len() == mark {
                        return Err(self.malformed("OBJ needs a class after the MARK".to_owned()));
                    }
                    let class = self.stack[mark];
                    let args = self.make_tuple(mark + 1);
                    self.stack.truncate(mark);
                    let v = self.call(class, args)?;
                    self.push(v)?;
                }
                op::REDUCE | op::NEWOBJ => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = self.call(callable, args)?;
                    self.push(v)?;
                }
                op::NEWOBJ_EX => {
                    self.pop()?;
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let v = self.call(class, args)?;
                    self.push(v)?;
                }
                op::BUILD => {
                    let state_slot = self.stack.len().wrapping_sub(1);
                    let state = self.pop()?;
                    let target = self.top()?;
                    self.build(target, state, state_slot)?;
                }
                op::PERSID => {
                    self.line()?;
                    self.persistent_id(Value::Opaque);
                    self.push(Value::Opaque)?;
                }
                op::BINPERSID => {
                    let pid = self.pop()?;
                    self.persistent_id(pid);
                    self.push(Value::Opaque)?;
                }
                op::EXT1 | op::EXT2 | op::EXT4 => {
                    let code_value = match code {
                        op::EXT1 => i64::from(self.take(1)?[0]),
                        op::EXT2 => i64::from(u16::from_le_bytes(self.array()?)),
                        _ => i64::from(i32::from_le_bytes(self.array()?)),
                    };
                    if code_value <= 0 {
                        return Err(
                            self.malformed(format!("extension code {code_value} is not positive"))
                        );
                    }
                    self.ext(code_value);
                    self.push(Value::Opaque)?;
                }
                op::READONLY_BUFFER => {
                    self.top()?;
                }
                _ => {
                    self.pos = self.op_off;
                    return Err(self.fault(
                        FaultKind::Malformed,
                        None,
                        format!("byte 0x{code:02x} is not a pickle opcode"),
                    ));
                }
            }
        }
    }

    // ----- stack, marks, memo -----

    #[inline]
    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    #[inline]
    pub(super) fn push(&mut self, v: Value) -> Result<(), Failure> {
        if self.stack.len() >= self.max_entries {
            let max = self.max_entries;
            return Err(self.fault(
                FaultKind::Limit,
                Some(self.op),
                format!("stack deeper than {max} entries (max_pickle_entries)"),
            ));
        }
        self.stack.push(v);
        Ok(())
    }

    #[inline]
    fn pop(&mut self) -> Result<Value, Failure> {
        if self.stack.len() > self.fence() {
            Ok(self.stack.pop().unwrap_or(Value::Opaque))
        } else {
            Err(self.underflow())
        }
    }

    #[inline]
    fn top(&self) -> Result<Value, Failure> {
        if self.stack.len() > self.fence() {
            Ok(self.stack[self.stack.len() - 1])
        } else {
            Err(self.underflow())
        }
    }

    /// Pops the topmost mark; the items above it are `stack[mark..]`.
    fn pop_mark(&mut self) -> Result<usize, Failure> {
        self.marks
            .pop()
            .ok_or_else(|| self.malformed("needs a MARK but none is open".to_owned()))
    }

    /// Checks that a container sits right below `mark` (APPENDS, SETITEMS, ADDITEMS).
    fn container_below(&self, mark: usize) -> Result<(), Failure> {
        if mark == 0 || mark <= self.fence() {
            Err(self.underflow())
        } else {
            Ok(())
        }
    }

    fn memo_put(&mut self, key: u64, v: Value) -> Result<(), Failure> {
        let dense = self.memo.len() as u64;
        if key < dense {
            self.memo[key as usize] = v;
            return Ok(());
        }
        if self.memo.len() + self.sparse_memo.len() >= self.max_entries
            && !self.sparse_memo.contains_key(&key)
        {
            let max = self.max_entries;
            return Err(self.fault(
                FaultKind::Limit,
                Some(self.op),
                format!("memo larger than {max} entries (max_pickle_entries)"),
            ));
        }
        if key == dense {
            self.memo.push(v);
            while !self.sparse_memo.is_empty() {
                let Some(next) = self.sparse_memo.remove(&(self.memo.len() as u64)) else {
                    break;
                };
                self.memo.push(next);
            }
        } else {
            self.sparse_memo.insert(key, v);
        }
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), Failure> {
        let v = if key < self.memo.len() as u64 {
            Some(self.memo[key as usize])
        } else {
            self.sparse_memo.get(&key).copied()
        };
        match v {
            Some(v) => self.push(v),
            None => Err(self.malformed(format!("memo key {key} was never stored"))),
        }
    }

    /// A tuple of `stack[from..]`, remembered when small and worth it.
    pub(super) fn make_tuple(&mut self, from: usize) -> Value {
        let items = &self.stack[from..];
        if items.is_empty() {
            return Value::Tuple { start: 0, len: 0 };
        }
        let worth = items.len() <= MAX_TUPLE && items.iter().any(|v| !matches!(v, Value::Opaque));
        if !worth || self.tuples.len() + items.len() > MAX_TUPLE_ITEMS {
            return Value::Opaque;
        }
        let start = self.tuples.len() as u32;
        self.tuples.extend_from_slice(items);
        Value::Tuple {
            start,
            len: items.len() as u32,
        }
    }

    /// Item `i` of a remembered tuple.
    pub(super) fn item(&self, tuple: Value, i: usize) -> Value {
        match tuple {
            Value::Tuple { start, len } if i < len as usize => self.tuples[start as usize + i],
            _ => Value::Opaque,
        }
    }

    pub(super) fn special(&mut self, special: Special, fallback: Value) -> Value {
        if self.specials.len() >= MAX_SPECIALS {
            return fallback;
        }
        self.specials.push(special);
        Value::Special((self.specials.len() - 1) as u32)
    }

    /// Runs the joblib object-array pickle that starts at the current position, as its own run.
    pub(super) fn run_inner(&mut self) -> Result<(), Failure> {
        if self.depth >= MAX_INNER_DEPTH {
            return Err(self.fault(
                FaultKind::Limit,
                Some(self.op),
                format!("joblib object arrays nested more than {MAX_INNER_DEPTH} deep"),
            ));
        }
        let inner = run_one(
            self.data,
            self.pos,
            self.limits,
            &mut self.ops_left,
            self.depth + 1,
            self.inner,
        );
        self.pos = inner.end;
        let ok = inner.outcome == End::Stop;
        let start = inner.start;
        self.inner.push(inner);
        if ok {
            Ok(())
        } else {
            Err(self.malformed(format!("the joblib object array pickled at offset {start} is broken (see the finding for it)")))
        }
    }

    // ----- faults -----

    #[cold]
    #[inline(never)]
    pub(super) fn fault(&self, kind: FaultKind, opcode: Option<u8>, message: String) -> Failure {
        let opcode = opcode.or_else(|| self.data.get(self.op_off).copied());
        let in_op = kind != FaultKind::Budget && self.op_off < self.data.len();
        Box::new(Fault {
            kind,
            offset: self.op_off as u64,
            opcode,
            message,
            in_op,
        })
    }

    #[cold]
    pub(super) fn malformed(&self, message: String) -> Failure {
        self.fault(FaultKind::Malformed, Some(self.op), message)
    }

    #[cold]
    fn underflow(&self) -> Failure {
        let message = if self.marks.is_empty() {
            "the stack is empty (stack underflow)".to_owned()
        } else {
            "nothing on the stack above the last MARK (stack underflow)".to_owned()
        };
        self.malformed(message)
    }
}
