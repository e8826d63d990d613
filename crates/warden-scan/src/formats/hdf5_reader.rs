//! A minimal, bounded HDF5 reader: just enough to list the root group's attributes and read
//! string values, never trusting an address, size or count before checking it against the file.
//!
//! Handled: superblocks v0–v3; object headers v1 and v2 with continuation blocks; attribute
//! messages v1–v3 (compact storage); dense attribute storage whose fractal heap keeps the values
//! as *huge objects* in a single-leaf v2 B-tree (what HDF5 does for attributes over 4 KiB, so for
//! every large `model_config`) or as *managed objects* in a root direct block; fixed-length and
//! variable-length (global heap) strings. Anything else is reported as unsupported, and the caller
//! falls back to searching the bytes.

/// The root group's attributes, with what could not be read.
#[derive(Debug, Default)]
pub(crate) struct RootAttributes {
    pub superblock_version: u8,
    pub attributes: Vec<Attribute>,
    /// Parts of the structure that were skipped, with why (unsupported, not malformed).
    pub unsupported: Vec<String>,
}

/// One attribute; `values` holds its string elements with their absolute offsets.
#[derive(Debug)]
pub(crate) struct Attribute {
    pub name: String,
    pub values: Vec<(u64, Vec<u8>)>,
}

/// A structural error: where and what.
#[derive(Debug)]
pub(crate) struct Malformed {
    pub offset: u64,
    pub message: String,
}

type Parse<T> = Result<T, Malformed>;

fn malformed<T>(offset: u64, message: impl Into<String>) -> Parse<T> {
    Err(Malformed { offset, message: message.into() })
}

/// Most object header messages and continuation blocks followed per object.
const MAX_MESSAGES: usize = 65_536;
const MAX_CONTINUATIONS: usize = 1024;
/// Largest single attribute value read.
const MAX_VALUE: u64 = 256 << 20;

const MSG_CONTINUATION: u16 = 0x10;
const MSG_ATTRIBUTE: u16 = 0x0c;
const MSG_ATTRIBUTE_INFO: u16 = 0x15;

/// Reads the root group's attributes of the HDF5 file whose superblock starts at `superblock`.
pub(crate) fn root_attributes(data: &[u8], superblock: usize) -> Parse<RootAttributes> {
    let file = File::open(data, superblock)?;
    let mut out = RootAttributes { superblock_version: file.version, ..RootAttributes::default() };
    let messages = file.object_header(file.root)?;
    for (ty, at, body) in messages {
        match ty {
            MSG_ATTRIBUTE => out.attributes.push(file.attribute(at, body)?),
            MSG_ATTRIBUTE_INFO => file.dense_attributes(at, body, &mut out)?,
            _ => {}
        }
    }
    Ok(out)
}

/// The file's addressing parameters.
struct File<'a> {
    data: &'a [u8],
    version: u8,
    offset_size: usize,
    length_size: usize,
    base: u64,
    root: u64,
}

/// A bounds-checked little-endian cursor over part of the file.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    /// Absolute file offset of `data[0]`, for messages.
    origin: u64,
}

impl<'a> Cursor<'a> {
    fn at(&self) -> u64 {
        self.origin + self.pos as u64
    }

    fn take(&mut self, n: usize, what: &str) -> Parse<&'a [u8]> {
        match self.pos.checked_add(n).filter(|&end| end <= self.data.len()) {
            Some(end) => {
                let out = &self.data[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => malformed(self.at(), format!("{what} ({n} bytes) runs past the end of its structure")),
        }
    }

    fn uint(&mut self, n: usize, what: &str) -> Parse<u64> {
        let bytes = self.take(n, what)?;
        Ok(bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn u8(&mut self, what: &str) -> Parse<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Parse<u16> {
        Ok(self.uint(2, what)? as u16)
    }

    fn u32(&mut self, what: &str) -> Parse<u32> {
        Ok(self.uint(4, what)? as u32)
    }
}

impl<'a> File<'a> {
    fn open(data: &'a [u8], superblock: usize) -> Parse<Self> {
        let mut c = Cursor { data, pos: superblock, origin: 0 };
        c.take(8, "signature")?;
        let version = c.u8("superblock version")?;
        let (offset_size, length_size, base, root);
        match version {
            0 | 1 => {
                c.take(4, "superblock versions")?;
                offset_size = usize::from(c.u8("size of offsets")?);
                length_size = usize::from(c.u8("size of lengths")?);
                c.take(1 + 4 + 4, "superblock B-tree parameters")?;
                if version == 1 {
                    c.take(4, "indexed storage K")?;
                }
                check_sizes(offset_size, length_size, c.at())?;
                base = c.uint(offset_size, "base address")?;
                c.take(3 * offset_size, "superblock addresses")?;
                // Root group symbol table entry: link name offset, then the object header address.
                c.take(offset_size, "root link name offset")?;
                root = c.uint(offset_size, "root object header address")?;
            }
            2 | 3 => {
                offset_size = usize::from(c.u8("size of offsets")?);
                length_size = usize::from(c.u8("size of lengths")?);
                c.u8("file consistency flags")?;
                check_sizes(offset_size, length_size, c.at())?;
                base = c.uint(offset_size, "base address")?;
                c.take(2 * offset_size, "superblock addresses")?;
                root = c.uint(offset_size, "root object header address")?;
            }
            v => return malformed(superblock as u64 + 8, format!("unknown superblock version {v}")),
        }
        Ok(File { data, version, offset_size, length_size, base, root })
    }

    fn undefined(&self, addr: u64) -> bool {
        self.offset_size >= 8 && addr == u64::MAX || self.offset_size < 8 && addr == (1u64 << (8 * self.offset_size)) - 1
    }

    /// A cursor at file address `addr` (relative to the base address), limited to `len` bytes.
    fn cursor(&self, addr: u64, len: u64, what: &str) -> Parse<Cursor<'a>> {
        let start = self.base.checked_add(addr).and_then(|a| usize::try_from(a).ok());
        let end = start.zip(usize::try_from(len).ok()).and_then(|(s, l)| s.checked_add(l));
        match (start, end) {
            (Some(start), Some(end)) if !self.undefined(addr) && end <= self.data.len() => {
                Ok(Cursor { data: &self.data[start..end], pos: 0, origin: start as u64 })
            }
            _ => malformed(addr, format!("{what} at address {addr} (+{len} bytes) is outside the {}-byte file", self.data.len())),
        }
    }

    /// A cursor from `addr` to the end of the file.
    fn cursor_to_end(&self, addr: u64, what: &str) -> Parse<Cursor<'a>> {
        let start = self.base.saturating_add(addr);
        let len = (self.data.len() as u64).saturating_sub(start);
        self.cursor(addr, len, what)
    }

    /// The messages of the object header at `addr`: (type, absolute offset of body, body).
    fn object_header(&self, addr: u64) -> Parse<Vec<(u16, u64, &'a [u8])>> {
        let mut c = self.cursor_to_end(addr, "object header")?;
        let mut messages = Vec::new();
        let mut blocks: Vec<(Cursor<'a>, bool)> = Vec::new();
        let v2 = c.data.starts_with(b"OHDR");
        if v2 {
            c.take(4, "signature")?;
            let version = c.u8("object header version")?;
            if version != 2 {
                return malformed(c.at(), format!("object header version {version} after OHDR"));
            }
            let flags = c.u8("object header flags")?;
            if flags & 0x20 != 0 {
                c.take(16, "object header times")?;
            }
            if flags & 0x10 != 0 {
                c.take(4, "attribute phase change values")?;
            }
            let size = c.uint(1 << (flags & 3), "size of chunk 0")?;
            let start = c.at() - self.base;
            blocks.push((self.cursor(start, size, "object header chunk")?, flags & 0x04 != 0));
        } else {
            let version = c.u8("object header version")?;
            if version != 1 {
                return malformed(c.at() - 1, format!("unknown object header version {version}"));
            }
            c.take(3, "object header fields")?;
            c.take(4, "reference count")?;
            let size = u64::from(c.u32("object header size")?);
            c.take(4, "object header padding")?;
            let start = c.at() - self.base;
            blocks.push((self.cursor(start, size, "object header messages")?, false));
        }
        let mut continuations = 0;
        while let Some((mut block, creation_order)) = blocks.pop() {
            loop {
                let header = if v2 { 4 + usize::from(creation_order) * 2 } else { 8 };
                if block.data.len() - block.pos < header {
                    break;
                }
                let (ty, size) = if v2 {
                    let ty = u16::from(block.u8("message type")?);
                    let size = block.u16("message size")?;
                    block.take(1 + usize::from(creation_order) * 2, "message flags")?;
                    (ty, size)
                } else {
                    let ty = block.u16("message type")?;
                    let size = block.u16("message size")?;
                    block.take(4, "message flags")?;
                    (ty, size)
                };
                let body_at = block.at();
                let body = block.take(usize::from(size), "message body")?;
                if messages.len() >= MAX_MESSAGES {
                    return malformed(body_at, format!("object header has more than {MAX_MESSAGES} messages"));
                }
                if ty == MSG_CONTINUATION {
                    continuations += 1;
                    if continuations > MAX_CONTINUATIONS {
                        return malformed(body_at, "too many object header continuation blocks (a loop?)");
                    }
                    let mut m = Cursor { data: body, pos: 0, origin: body_at };
                    let addr = m.uint(self.offset_size, "continuation address")?;
                    let len = m.uint(self.length_size, "continuation length")?;
                    let mut next = self.cursor(addr, len, "continuation block")?;
                    if v2 {
                        if !next.data.starts_with(b"OCHK") || next.data.len() < 8 {
                            return malformed(next.at(), "continuation block lacks its OCHK signature");
                        }
                        next = Cursor { data: &next.data[..next.data.len() - 4], pos: 4, origin: next.origin };
                    }
                    blocks.push((next, creation_order));
                }
                messages.push((ty, body_at, body));
            }
        }
        Ok(messages)
    }

    /// Decodes an attribute message (versions 1 to 3).
    fn attribute(&self, at: u64, body: &'a [u8]) -> Parse<Attribute> {
        let mut c = Cursor { data: body, pos: 0, origin: at };
        let version = c.u8("attribute version")?;
        let flags = c.u8("attribute flags")?;
        let name_size = usize::from(c.u16("attribute name size")?);
        let type_size = usize::from(c.u16("attribute datatype size")?);
        let space_size = usize::from(c.u16("attribute dataspace size")?);
        let pad = |n: usize| if version == 1 { n.next_multiple_of(8) } else { n };
        if version == 3 {
            c.u8("attribute name encoding")?;
        }
        if !(1..=3).contains(&version) {
            return malformed(at, format!("unknown attribute message version {version}"));
        }
        let name = c.take(pad(name_size), "attribute name")?;
        let name = &name[..name_size.min(name.len())];
        let name = String::from_utf8_lossy(name.split(|&b| b == 0).next().unwrap_or_default()).into_owned();
        let datatype = c.take(pad(type_size), "attribute datatype")?;
        let dataspace = c.take(pad(space_size), "attribute dataspace")?;
        let mut attribute = Attribute { name, values: Vec::new() };
        if flags & 0x03 != 0 {
            // Shared datatype or dataspace: the value layout lives elsewhere; not followed.
            return Ok(attribute);
        }
        let elements = dataspace_elements(dataspace, self.length_size, at)?;
        let mut data = Cursor { data: &body[c.pos..], pos: 0, origin: c.at() };
        let mut t = Cursor { data: datatype, pos: 0, origin: at };
        let class = t.u8("datatype class")? & 0x0f;
        let bits = t.uint(3, "datatype bit field")?;
        let element_size = u64::from(t.u32("datatype size")?);
        match class {
            3 => {
                for _ in 0..elements.min(1 << 20) {
                    let offset = data.at();
                    let bytes = data.take(usize::try_from(element_size).unwrap_or(usize::MAX), "string attribute value")?;
                    attribute.values.push((offset, bytes.to_vec()));
                }
            }
            9 if bits & 0x0f == 1 => {
                for _ in 0..elements.min(1 << 20) {
                    let len = data.u32("variable-length string length")?;
                    let collection = data.uint(self.offset_size, "global heap address")?;
                    let index = data.u32("global heap index")?;
                    if len > 0 {
                        attribute.values.push(self.global_heap_object(collection, index)?);
                    }
                }
            }
            _ => {}
        }
        Ok(attribute)
    }

    /// Object `index` of the global heap collection at `addr`.
    fn global_heap_object(&self, addr: u64, index: u32) -> Parse<(u64, Vec<u8>)> {
        let mut c = self.cursor_to_end(addr, "global heap")?;
        if !c.data.starts_with(b"GCOL") {
            return malformed(c.at(), "global heap collection lacks its GCOL signature");
        }
        c.take(8, "global heap header")?;
        let size = c.uint(self.length_size, "global heap size")?;
        let mut c = self.cursor(addr, size, "global heap collection")?;
        c.take(8 + self.length_size, "global heap header")?;
        while c.data.len() - c.pos >= 8 + self.length_size {
            let id = c.u16("heap object index")?;
            c.take(6, "heap object header")?;
            let len = c.uint(self.length_size, "heap object size")?;
            if id == 0 {
                break;
            }
            let at = c.at();
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            let bytes = c.take(len, "heap object")?;
            if u32::from(id) == index {
                return Ok((at, bytes.to_vec()));
            }
            c.take(len.next_multiple_of(8) - len, "heap object padding").ok();
        }
        malformed(addr, format!("global heap object {index} not found"))
    }

    /// Dense attribute storage: reads attribute messages out of the fractal heap.
    fn dense_attributes(&self, at: u64, body: &'a [u8], out: &mut RootAttributes) -> Parse<()> {
        let mut c = Cursor { data: body, pos: 0, origin: at };
        c.u8("attribute info version")?;
        let flags = c.u8("attribute info flags")?;
        if flags & 1 != 0 {
            c.u16("maximum creation index")?;
        }
        let heap = c.uint(self.offset_size, "fractal heap address")?;
        let name_index = c.uint(self.offset_size, "attribute name index address")?;
        if self.undefined(heap) {
            return Ok(());
        }
        let heap = self.fractal_heap(heap)?;
        if heap.filtered {
            out.unsupported.push("dense attribute heap uses I/O filters (compressed attribute values are not read)".to_owned());
            return Ok(());
        }
        for (addr, len) in self.huge_objects(&heap, out)? {
            let c = self.cursor(addr, len, "huge attribute")?;
            out.attributes.push(self.attribute(c.origin, c.data)?);
        }
        for (offset, len) in self.managed_object_ids(name_index, &heap, out)? {
            if heap.root_rows != 0 {
                out.unsupported.push("small dense attributes in an indirect fractal heap block are not read".to_owned());
                break;
            }
            let c = self.cursor(heap.root.saturating_add(offset), len, "managed attribute")?;
            out.attributes.push(self.attribute(c.origin, c.data)?);
        }
        Ok(())
    }

    fn fractal_heap(&self, addr: u64) -> Parse<FractalHeap> {
        let (o, l) = (self.offset_size, self.length_size);
        let mut c = self.cursor_to_end(addr, "fractal heap header")?;
        if !c.data.starts_with(b"FRHP") {
            return malformed(c.at(), "fractal heap header lacks its FRHP signature");
        }
        c.take(5, "fractal heap signature")?;
        let id_len = c.u16("heap ID length")?;
        let filter_len = c.u16("I/O filter length")?;
        c.u8("heap flags")?;
        let max_managed = c.u32("maximum managed object size")?;
        c.uint(l, "next huge object ID")?;
        let huge_btree = c.uint(o, "huge object B-tree address")?;
        c.take(l + o + 3 * l + l + 4 * l, "fractal heap statistics")?;
        c.u16("table width")?;
        c.uint(l, "starting block size")?;
        c.uint(l, "maximum direct block size")?;
        let max_heap_bits = c.u16("maximum heap size")?;
        c.u16("starting rows")?;
        let root = c.uint(o, "root block address")?;
        let root_rows = c.u16("current rows in root block")?;
        Ok(FractalHeap { id_len, filtered: filter_len != 0, max_managed, huge_btree, max_heap_bits, root, root_rows })
    }

    /// (address, length) of every huge object, from a v2 B-tree whose root is a leaf.
    fn huge_objects(&self, heap: &FractalHeap, out: &mut RootAttributes) -> Parse<Vec<(u64, u64)>> {
        if self.undefined(heap.huge_btree) {
            return Ok(Vec::new());
        }
        let (o, l) = (self.offset_size, self.length_size);
        let mut c = self.cursor_to_end(heap.huge_btree, "v2 B-tree header")?;
        if !c.data.starts_with(b"BTHD") {
            return malformed(c.at(), "v2 B-tree header lacks its BTHD signature");
        }
        c.take(5, "B-tree signature")?;
        let ty = c.u8("B-tree type")?;
        c.u32("node size")?;
        c.u16("record size")?;
        let depth = c.u16("B-tree depth")?;
        c.take(2, "split and merge percentages")?;
        let root = c.uint(o, "B-tree root address")?;
        let records = c.u16("records in root")?;
        if depth != 0 {
            out.unsupported.push(format!("huge-object B-tree of depth {depth} is not walked"));
            return Ok(Vec::new());
        }
        if ty != 1 {
            out.unsupported.push(format!("huge objects of B-tree record type {ty} (filtered or direct) are not read"));
            return Ok(Vec::new());
        }
        let mut leaf = self.cursor_to_end(root, "v2 B-tree leaf")?;
        if !leaf.data.starts_with(b"BTLF") {
            return malformed(leaf.at(), "v2 B-tree leaf lacks its BTLF signature");
        }
        leaf.take(6, "B-tree leaf header")?;
        let mut objects = Vec::new();
        for _ in 0..records {
            let addr = leaf.uint(o, "huge object address")?;
            let len = leaf.uint(l, "huge object length")?;
            leaf.uint(l, "huge object ID")?;
            if len > MAX_VALUE {
                return malformed(leaf.at(), format!("huge attribute of {len} bytes exceeds {MAX_VALUE}"));
            }
            objects.push((addr, len));
        }
        Ok(objects)
    }

    /// (heap offset, length) of managed objects named by the attribute name index (type 8
    /// records in a v2 B-tree whose root is a leaf).
    fn managed_object_ids(&self, name_index: u64, heap: &FractalHeap, out: &mut RootAttributes) -> Parse<Vec<(u64, u64)>> {
        if self.undefined(name_index) {
            return Ok(Vec::new());
        }
        let o = self.offset_size;
        let mut c = self.cursor_to_end(name_index, "attribute name index")?;
        if !c.data.starts_with(b"BTHD") {
            return malformed(c.at(), "attribute name index lacks its BTHD signature");
        }
        c.take(6, "B-tree signature")?;
        c.u32("node size")?;
        let record_size = usize::from(c.u16("record size")?);
        let depth = c.u16("B-tree depth")?;
        c.take(2, "split and merge percentages")?;
        let root = c.uint(o, "B-tree root address")?;
        let records = c.u16("records in root")?;
        if depth != 0 {
            out.unsupported.push(format!("attribute name index of depth {depth} is not walked"));
            return Ok(Vec::new());
        }
        let mut leaf = self.cursor_to_end(root, "attribute name index leaf")?;
        leaf.take(6, "B-tree leaf header")?;
        let offset_bytes = usize::from(heap.max_heap_bits).div_ceil(8);
        let length_bytes = (64 - u64::from(heap.max_managed).leading_zeros() as usize).div_ceil(8);
        let mut ids = Vec::new();
        for _ in 0..records {
            let record = leaf.take(record_size, "attribute name index record")?;
            let id = &record[..usize::from(heap.id_len).min(record.len())];
            let mut r = Cursor { data: id, pos: 0, origin: leaf.at() };
            let kind = (r.u8("heap ID flags")? >> 4) & 0x03;
            if kind == 0 {
                let offset = r.uint(offset_bytes, "heap object offset")?;
                let len = r.uint(length_bytes.max(1), "heap object length")?;
                ids.push((offset, len));
            }
        }
        Ok(ids)
    }
}

struct FractalHeap {
    id_len: u16,
    filtered: bool,
    max_managed: u32,
    huge_btree: u64,
    max_heap_bits: u16,
    root: u64,
    root_rows: u16,
}

fn check_sizes(offset_size: usize, length_size: usize, at: u64) -> Parse<()> {
    if [2, 4, 8].contains(&offset_size) && [2, 4, 8].contains(&length_size) {
        Ok(())
    } else {
        malformed(at, format!("unsupported address/length sizes {offset_size}/{length_size} (expected 2, 4 or 8)"))
    }
}

/// How many elements a dataspace message describes (scalar: 1, null: 0).
fn dataspace_elements(space: &[u8], length_size: usize, at: u64) -> Parse<u64> {
    let mut c = Cursor { data: space, pos: 0, origin: at };
    let version = c.u8("dataspace version")?;
    let rank = c.u8("dataspace rank")?;
    c.u8("dataspace flags")?;
    match version {
        1 => {
            c.take(5, "dataspace reserved")?;
        }
        2 => {
            if c.u8("dataspace type")? == 2 {
                return Ok(0);
            }
        }
        v => return malformed(at, format!("unknown dataspace version {v}")),
    }
    let mut n = 1u64;
    for _ in 0..rank {
        n = n.saturating_mul(c.uint(length_size, "dataspace dimension")?);
    }
    Ok(n)
}
