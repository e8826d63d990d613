//! Recording what a pickle obtains: globals (deduplicated, with use and call counts), computed
//! names, EXT codes, nested payloads, class mutations and persistent ids.

use std::borrow::Cow;

use crate::pickle::calls::Known;
use crate::pickle::machine::{MAX_DISTINCT_GLOBALS, MAX_RECORDS, Machine};
use crate::pickle::run::{
    DynamicUse, ExtUse, Failure, FaultKind, GlobalRecord, Nested, Origin, Payload,
};
use crate::pickle::value::Value;

impl<'a> Machine<'a, '_> {
    /// Records that the pickle obtains `module.name`; returns its index.
    pub(super) fn global(
        &mut self,
        module: Cow<'a, str>,
        name: Cow<'a, str>,
        origin: Origin,
    ) -> Result<u32, Failure> {
        let key = (module, name);
        if let Some(&g) = self.index.get(&key) {
            self.run.globals[g as usize].uses += 1;
            return Ok(g);
        }
        if self.run.globals.len() >= MAX_DISTINCT_GLOBALS {
            return Err(self.fault(
                FaultKind::Limit,
                Some(self.op),
                format!("more than {MAX_DISTINCT_GLOBALS} distinct globals"),
            ));
        }
        let g = self.run.globals.len() as u32;
        let known = Known::of(&key.0, &key.1);
        self.run.globals.push(GlobalRecord {
            module: key.0.clone(),
            name: key.1.clone(),
            origin,
            offset: match origin {
                Origin::Derived { offset, .. } => offset,
                Origin::Opcode(_) => self.op_off as u64,
            },
            uses: 1,
            calls: 0,
            first_call: None,
            excused_calls: 0,
            known,
        });
        self.index.insert(key, g);
        Ok(g)
    }

    pub(super) fn note_call(&mut self, g: u32) {
        let (op, off) = (self.op, self.op_off as u64);
        let record = &mut self.run.globals[g as usize];
        record.calls += 1;
        record.first_call.get_or_insert((op, off));
    }

    pub(super) fn dynamic(&mut self, what: &'static str) {
        let (op, offset) = (self.op, self.op_off as u64);
        if let Some(d) = self.run.dynamic.iter_mut().find(|d| d.what == what) {
            d.count += 1;
        } else if self.run.dynamic.len() < MAX_RECORDS {
            self.run.dynamic.push(DynamicUse {
                what,
                op,
                offset,
                count: 1,
            });
        }
    }

    pub(super) fn ext(&mut self, code: i64) {
        let offset = self.op_off as u64;
        if let Some(e) = self.run.ext.iter_mut().find(|e| e.code == code) {
            e.count += 1;
        } else if self.run.ext.len() < MAX_RECORDS {
            self.run.ext.push(ExtUse {
                code,
                offset,
                count: 1,
            });
        }
    }

    pub(super) fn nested(&mut self, loader: u32, payload: Option<Payload>) {
        if self.run.nested.len() < MAX_RECORDS {
            self.run.nested.push(Nested {
                loader,
                op: self.op,
                offset: self.op_off as u64,
                payload,
            });
        }
    }

    pub(super) fn global_build(&mut self, g: u32) {
        if self.run.global_builds.len() < MAX_RECORDS {
            self.run.global_builds.push((self.op_off as u64, g));
        }
    }

    pub(super) fn persistent_id(&mut self, pid: Value) {
        let tag = self.item(pid, 0);
        let tag = self.str_text(tag);
        let ids = &mut self.run.persistent;
        match (tag.as_deref(), pid) {
            (Some("storage"), Value::Tuple { len: 5 | 6, .. }) => ids.storages += 1,
            (Some("module"), Value::Tuple { len: 4, .. }) => ids.modules += 1,
            _ => {
                ids.other += 1;
                ids.first_other.get_or_insert(self.op_off as u64);
            }
        }
    }

    /// The text of a string constant value.
    pub(super) fn str_text(&self, v: Value) -> Option<Cow<'a, str>> {
        match v {
            Value::Str { enc, len, off } => crate::pickle::value::text(self.data, enc, off, len),
            _ => None,
        }
    }
}
