//! What calling a global does, for the globals whose result matters to the analysis: attribute
//! and import resolvers (`getattr`, `__import__`, `operator.attrgetter`...), wrappers
//! (`functools.partial`), nested deserialisers, byte decoders, `numpy.dtype` and joblib's array
//! wrapper. Every other call yields an opaque "object made by G".

use std::borrow::Cow;

use crate::pickle::machine::Machine;
use crate::pickle::run::{Failure, Origin, Payload};
use crate::pickle::value::{self, Decoding, Special, Value};

/// What the machine knows about a global's behaviour when called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// Nothing special: the result is an opaque object.
    Plain,
    /// `copyreg._reconstructor(cls, ...)`, `copyreg.__newobj__(cls, ...)`: an instance of `cls`.
    Reconstructor,
    /// `getattr(obj, name)`.
    GetAttr,
    /// `__import__(name)`: returns the top-level package unless a fromlist is given.
    ImportTop,
    /// `importlib.import_module(name)` and friends: returns the named module.
    Import,
    /// `sys.modules.get(name)`: the named module.
    SysModulesGet,
    /// `operator.getitem(obj, key)`.
    GetItem,
    /// `operator.attrgetter(names)`.
    AttrGetter,
    /// `operator.itemgetter(key)`.
    ItemGetter,
    /// `operator.methodcaller(name, ...)`.
    MethodCaller,
    /// `functools.partial(func, ...)`.
    Partial,
    /// `pkgutil.resolve_name('a.b:c')`, `pydoc.locate('a.b.c')`.
    ResolveName,
    /// dill / cloudpickle: a type by name (`'CodeType'` is `types.CodeType`).
    TypeByName,
    /// `numpy.core._ufunc_reconstruct(module, name)`.
    UfuncReconstruct,
    /// A deserialiser whose first argument is bytes or a file of bytes.
    Loader,
    /// `io.BytesIO(data)`.
    BytesIo,
    /// `codecs.encode(text, encoding)`.
    Encode,
    /// A bytes decoder (`base64.b64decode`, `bytes.fromhex`, `zlib.decompress`).
    Decode(Decoding),
    /// dill's `_eval_repr(text)`: `eval` of a constant.
    EvalRepr,
    /// `numpy.dtype(type_str, ...)`.
    Dtype,
    /// joblib's `NumpyArrayWrapper`: raw array bytes follow its BUILD.
    ArrayWrapper,
}

impl Known {
    pub(crate) fn of(module: &str, name: &str) -> Known {
        match (module, name) {
            ("copyreg" | "copy_reg", "_reconstructor" | "__newobj__" | "__newobj_ex__") => {
                Known::Reconstructor
            }
            ("builtins" | "__builtin__", "getattr")
            | ("dill._dill", "_get_attr" | "_get_attr_safe") => Known::GetAttr,
            ("builtins" | "__builtin__" | "importlib", "__import__") => Known::ImportTop,
            ("importlib", "import_module" | "reload")
            | (
                "cloudpickle.cloudpickle" | "cloudpickle.cloudpickle_fast",
                "subimport" | "dynamic_subimport",
            )
            | ("dill._dill", "_import_module") => Known::Import,
            (
                "sys",
                "modules.get" | "modules.__getitem__" | "modules.pop" | "modules.setdefault",
            ) => Known::SysModulesGet,
            ("operator" | "_operator", "getitem" | "__getitem__")
            | ("builtins", "dict.get" | "dict.__getitem__") => Known::GetItem,
            ("operator" | "_operator", "attrgetter") => Known::AttrGetter,
            ("operator" | "_operator", "itemgetter") => Known::ItemGetter,
            ("operator" | "_operator", "methodcaller") => Known::MethodCaller,
            ("functools" | "_functools", "partial") => Known::Partial,
            ("pkgutil", "resolve_name") | ("pydoc", "locate") => Known::ResolveName,
            ("dill._dill", "_load_type")
            | ("cloudpickle.cloudpickle" | "cloudpickle.cloudpickle_fast", "_builtin_type") => {
                Known::TypeByName
            }
            ("numpy.core" | "numpy._core", "_ufunc_reconstruct") => Known::UfuncReconstruct,
            (
                "pickle"
                | "_pickle"
                | "cPickle"
                | "dill"
                | "dill._dill"
                | "cloudpickle"
                | "cloudpickle.cloudpickle",
                "loads" | "load" | "_loads" | "_load",
            )
            | ("torch" | "torch.serialization", "load")
            | ("torch.storage", "_load_from_bytes")
            | ("joblib" | "joblib.numpy_pickle", "load")
            | ("numpy", "load")
            | ("pandas" | "pandas.io.pickle", "read_pickle") => Known::Loader,
            ("io" | "_io", "BytesIO") => Known::BytesIo,
            ("_codecs" | "codecs", "encode") => Known::Encode,
            (
                "base64",
                "b64decode" | "standard_b64decode" | "urlsafe_b64decode" | "decodebytes"
                | "decodestring",
            )
            | ("binascii", "a2b_base64") => Known::Decode(Decoding::Base64),
            ("builtins", "bytes.fromhex" | "bytearray.fromhex")
            | ("binascii", "unhexlify" | "a2b_hex") => Known::Decode(Decoding::Hex),
            ("zlib" | "bz2" | "lzma" | "gzip", "decompress") => Known::Decode(Decoding::Identity),
            ("dill._dill", "_eval_repr") => Known::EvalRepr,
            ("numpy", "dtype") => Known::Dtype,
            (
                "joblib.numpy_pickle" | "sklearn.externals.joblib.numpy_pickle",
                "NumpyArrayWrapper",
            ) => Known::ArrayWrapper,
            _ => Known::Plain,
        }
    }
}

/// The parts of a joblib `NumpyArrayWrapper` state dict that say how many raw bytes follow.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WrapperState {
    /// Product of the `shape` tuple (`None` when unknown or overflowing).
    pub elements: Option<u64>,
    /// `dtype` item size and object-ness.
    pub itemsize: Option<u32>,
    pub object: bool,
    pub dtype_seen: bool,
    pub shape_seen: bool,
    /// `numpy_array_alignment_bytes`: absent (`None`), `None` (`Some(None)`) or a value.
    pub alignment: Option<Option<i64>>,
}

/// `repr` constants dill evaluates for singletons; evaluating them runs no user code.
const BENIGN_EVAL_REPR: &[&str] = &["Ellipsis", "NotImplemented", "None", "True", "False"];

impl<'a> Machine<'a, '_> {
    /// Calls `callable` with `args` (a tuple value) for REDUCE, NEWOBJ, NEWOBJ_EX, INST or OBJ.
    pub(super) fn call(&mut self, callable: Value, args: Value) -> Result<Value, Failure> {
        match callable {
            Value::Global(g) => {
                self.note_call(g);
                self.apply(g, args)
            }
            Value::Special(s) => {
                let special = self.specials[s as usize];
                let target = self.item(args, 0);
                match special {
                    Special::AttrGetter { names, by } => self.getattr(target, names, by),
                    Special::ItemGetter { key, by } => self.getitem(target, key, by),
                    Special::MethodCaller { name, by } => {
                        let method = self.getattr(target, name, by)?;
                        if let Value::Global(m) = method {
                            self.note_call(m);
                        }
                        Ok(Value::Opaque)
                    }
                    Special::Partial { func, first } => {
                        let args = if matches!(first, Value::Opaque) {
                            args
                        } else {
                            self.one_tuple(first)
                        };
                        self.call(func, args)
                    }
                    Special::BytesIo { .. } | Special::Decoded { .. } => Ok(Value::Opaque),
                }
            }
            _ => Ok(Value::Opaque),
        }
    }

    fn apply(&mut self, g: u32, args: Value) -> Result<Value, Failure> {
        let known = self.run.globals[g as usize].known;
        let arg0 = self.item(args, 0);
        let plain = Value::Object(g);
        Ok(match known {
            Known::Plain | Known::ArrayWrapper => plain,
            Known::Reconstructor => match arg0 {
                Value::Global(class) => Value::Object(class),
                _ => plain,
            },
            Known::GetAttr => {
                let name = self.item(args, 1);
                return self.getattr(arg0, name, g);
            }
            Known::ImportTop | Known::Import => {
                let Some(name) = self.str_text(arg0) else {
                    self.dynamic("a module imported by a name computed at load time");
                    return Ok(Value::Opaque);
                };
                let has_fromlist = !matches!(
                    self.item(args, 3),
                    Value::Opaque | Value::None | Value::Tuple { len: 0, .. }
                );
                let module = if known == Known::ImportTop && !has_fromlist {
                    match name {
                        Cow::Borrowed(s) => Cow::Borrowed(s.split('.').next().unwrap_or(s)),
                        Cow::Owned(s) => Cow::Owned(s.split('.').next().unwrap_or(&s).to_owned()),
                    }
                } else {
                    name
                };
                self.derived(module, Cow::Borrowed(""), g, None)?
            }
            Known::SysModulesGet => match self.str_text(arg0) {
                Some(name) => self.derived(name, Cow::Borrowed(""), g, None)?,
                None => {
                    self.dynamic("a module looked up by a name computed at load time");
                    Value::Opaque
                }
            },
            Known::GetItem => {
                let key = self.item(args, 1);
                self.getitem(arg0, key, g)?
            }
            Known::AttrGetter => self.special(Special::AttrGetter { names: arg0, by: g }, plain),
            Known::ItemGetter => self.special(Special::ItemGetter { key: arg0, by: g }, plain),
            Known::MethodCaller => self.special(Special::MethodCaller { name: arg0, by: g }, plain),
            Known::Partial => {
                let first = self.item(args, 1);
                self.special(Special::Partial { func: arg0, first }, plain)
            }
            Known::ResolveName => match self.str_text(arg0) {
                Some(path) => {
                    let (module, name) = split_path(&path);
                    self.derived(
                        Cow::Owned(module.to_owned()),
                        Cow::Owned(name.to_owned()),
                        g,
                        None,
                    )?
                }
                None => {
                    self.dynamic("a callable resolved from a name computed at load time");
                    Value::Opaque
                }
            },
            Known::TypeByName => match self.str_text(arg0) {
                Some(name) => {
                    let module = if name.ends_with("Type") {
                        "types"
                    } else {
                        "builtins"
                    };
                    self.derived(Cow::Borrowed(module), name, g, None)?
                }
                None => plain,
            },
            Known::UfuncReconstruct => {
                let name = self.item(args, 1);
                match (self.str_text(arg0), self.str_text(name)) {
                    (Some(module), Some(name)) => self.derived(module, name, g, None)?,
                    _ => {
                        self.dynamic("a ufunc resolved from a name computed at load time");
                        Value::Opaque
                    }
                }
            }
            Known::Loader => {
                let payload = self.payload(arg0);
                self.nested(g, payload);
                Value::Opaque
            }
            Known::BytesIo => self.special(Special::BytesIo { data: arg0 }, plain),
            Known::Encode => {
                let encoding = self.item(args, 1);
                let latin1 = self.str_text(encoding).is_some_and(|e| {
                    matches!(
                        e.to_ascii_lowercase().replace('_', "-").as_str(),
                        "latin1" | "latin-1" | "iso-8859-1" | "l1"
                    )
                });
                if latin1 {
                    self.special(
                        Special::Decoded {
                            how: Decoding::Latin1,
                            source: arg0,
                        },
                        plain,
                    )
                } else {
                    plain
                }
            }
            Known::Decode(how) => self.special(Special::Decoded { how, source: arg0 }, plain),
            Known::EvalRepr => {
                if self
                    .str_text(arg0)
                    .is_some_and(|t| BENIGN_EVAL_REPR.contains(&t.trim()))
                {
                    self.run.globals[g as usize].excused_calls += 1;
                }
                Value::Opaque
            }
            Known::Dtype => match self.str_text(arg0) {
                Some(type_str) => value::dtype_itemsize(&type_str),
                None => Value::Dtype {
                    itemsize: None,
                    object: false,
                },
            },
        })
    }

    /// `getattr(obj, name)`: a new global when `obj` is one.
    fn getattr(&mut self, obj: Value, name: Value, resolver: u32) -> Result<Value, Failure> {
        let Some(attr) = self.str_text(name) else {
            self.dynamic("an attribute fetched by a name computed at load time");
            return Ok(Value::Opaque);
        };
        let (base, module, qualname) = match obj {
            Value::Global(b) | Value::Object(b) => {
                let record = &self.run.globals[b as usize];
                let qualname = if record.is_module() {
                    attr.into_owned()
                } else {
                    format!("{}.{}", record.name, attr)
                };
                (Some(b), record.module.clone(), qualname)
            }
            Value::Str { .. } => (None, Cow::Borrowed("builtins"), format!("str.{attr}")),
            _ => return Ok(Value::Opaque),
        };
        self.derived(module, Cow::Owned(qualname), resolver, base)
    }

    /// `obj[key]`: a module when `obj` is `sys.modules`.
    fn getitem(&mut self, obj: Value, key: Value, resolver: u32) -> Result<Value, Failure> {
        let Value::Global(b) = obj else {
            return Ok(Value::Opaque);
        };
        let record = &self.run.globals[b as usize];
        if !(record.module == "sys" && record.name == "modules") {
            return Ok(Value::Opaque);
        }
        match self.str_text(key) {
            Some(name) => self.derived(name, Cow::Borrowed(""), resolver, Some(b)),
            None => {
                self.dynamic("a module looked up by a name computed at load time");
                Ok(Value::Opaque)
            }
        }
    }

    fn derived(
        &mut self,
        module: Cow<'a, str>,
        name: Cow<'a, str>,
        resolver: u32,
        base: Option<u32>,
    ) -> Result<Value, Failure> {
        let origin = Origin::Derived {
            resolver,
            base,
            op: self.op,
            offset: self.op_off as u64,
        };
        Ok(Value::Global(self.global(module, name, origin)?))
    }

    fn one_tuple(&mut self, item: Value) -> Value {
        let from = self.stack.len();
        self.stack.push(item);
        let tuple = self.make_tuple(from);
        self.stack.truncate(from);
        tuple
    }

    /// The bytes a loader is called on, when they are a constant of the pickle.
    fn payload(&self, v: Value) -> Option<Payload> {
        match v {
            Value::Str { enc, len, off } => Some(Payload {
                how: Decoding::Identity,
                enc,
                off,
                len,
            }),
            Value::Special(s) => match self.specials[s as usize] {
                Special::BytesIo { data } => self.payload(data),
                Special::Decoded {
                    how,
                    source: Value::Str { enc, len, off },
                } => Some(Payload { how, enc, off, len }),
                Special::Decoded {
                    how: Decoding::Identity,
                    source,
                } => self.payload(source),
                _ => None,
            },
            _ => None,
        }
    }

    /// STACK_GLOBAL: module and name must be str constants, or the callable is computed.
    pub(super) fn stack_global(&mut self, module: Value, name: Value) -> Result<Value, Failure> {
        let module_text = self.str_text(module);
        let name_text = self.str_text(name);
        match (module_text, name_text) {
            (Some(module), Some(name)) => {
                let g = self.global(module, name, Origin::Opcode(self.op))?;
                Ok(Value::Global(g))
            }
            _ => {
                let computed =
                    |v: Value| matches!(v, Value::Object(_) | Value::Special(_) | Value::Opaque);
                if (computed(module) || matches!(module, Value::Str { .. }))
                    && (computed(name) || matches!(name, Value::Str { .. }))
                    && !matches!(
                        module,
                        Value::Str {
                            enc: value::Enc::Bytes,
                            ..
                        }
                    )
                    && !matches!(
                        name,
                        Value::Str {
                            enc: value::Enc::Bytes,
                            ..
                        }
                    )
                {
                    self.dynamic("STACK_GLOBAL with a module or name computed at load time");
                    Ok(Value::Opaque)
                } else {
                    Err(self
                        .malformed("STACK_GLOBAL requires two str values on the stack".to_owned()))
                }
            }
        }
    }

    /// BUILD `state` into `target`.
    pub(super) fn build(
        &mut self,
        target: Value,
        state: Value,
        state_slot: usize,
    ) -> Result<(), Failure> {
        match target {
            Value::Global(g) => {
                self.global_build(g);
                Ok(())
            }
            Value::Object(g) if self.run.globals[g as usize].known == Known::ArrayWrapper => {
                let wrapper = match (state, self.wrapper.take()) {
                    (Value::Dict, Some((slot, wrapper))) if slot == state_slot => wrapper,
                    _ => WrapperState::default(),
                };
                self.skip_wrapped_array(wrapper)
            }
            _ => Ok(()),
        }
    }

    /// Skips the raw array bytes joblib writes right after a `NumpyArrayWrapper`'s BUILD, or runs
    /// the object array pickled there.
    fn skip_wrapped_array(&mut self, wrapper: WrapperState) -> Result<(), Failure> {
        if !wrapper.dtype_seen || !wrapper.shape_seen {
            return Err(self.malformed(
                "a joblib NumpyArrayWrapper is built without a `shape` and `dtype` warden can read, so the size of the raw array bytes that follow is unknown".to_owned(),
            ));
        }
        if wrapper.object {
            return self.run_inner();
        }
        if let Some(Some(_)) = wrapper.alignment {
            let padding = self.take_byte("joblib array alignment padding")?;
            self.skip(u64::from(padding), "joblib array alignment padding")?;
        }
        let (Some(elements), Some(itemsize)) = (wrapper.elements, wrapper.itemsize) else {
            return Err(self.malformed("a joblib NumpyArrayWrapper has a shape or dtype whose size overflows or is unknown".to_owned()));
        };
        let Some(n) = elements.checked_mul(u64::from(itemsize)) else {
            return Err(self.malformed(format!(
                "a joblib array of {elements} items of {itemsize} bytes overflows"
            )));
        };
        self.skip(n, "joblib array data")?;
        self.run.arrays_skipped += 1;
        self.run.array_bytes_skipped += n;
        Ok(())
    }

    fn take_byte(&mut self, what: &str) -> Result<u8, Failure> {
        let Some(&b) = self.data.get(self.pos) else {
            return Err(self.fault(
                crate::pickle::run::FaultKind::Truncated,
                Some(self.op),
                format!("{what} is missing"),
            ));
        };
        self.pos += 1;
        Ok(b)
    }

    /// SETITEM(S) into the dict at `dict_slot`, items from `items_from`: remembers the state of a
    /// joblib array wrapper sitting just below the dict.
    pub(super) fn note_dict_items(&mut self, dict_slot: usize, items_from: usize) {
        if dict_slot == 0 || !matches!(self.stack.get(dict_slot), Some(Value::Dict)) {
            return;
        }
        self.note_wrapper_items(dict_slot - 1, dict_slot, items_from);
    }

    /// DICT: the new dict will take slot `mark`.
    pub(super) fn note_dict_items_at_mark(&mut self, mark: usize) {
        if mark == 0 {
            return;
        }
        self.note_wrapper_items(mark - 1, mark, mark);
    }

    fn note_wrapper_items(&mut self, owner_slot: usize, dict_slot: usize, items_from: usize) {
        let Some(Value::Object(g)) = self.stack.get(owner_slot).copied() else {
            return;
        };
        if self.run.globals[g as usize].known != Known::ArrayWrapper {
            return;
        }
        let mut state = match self.wrapper {
            Some((slot, state)) if slot == dict_slot => state,
            _ => WrapperState::default(),
        };
        let mut i = items_from;
        while i + 1 < self.stack.len() {
            let (key, value) = (self.stack[i], self.stack[i + 1]);
            i += 2;
            let Some(key) = self.str_text(key) else {
                continue;
            };
            match key.as_ref() {
                "shape" => {
                    state.shape_seen = true;
                    state.elements = self.shape_elements(value);
                }
                "dtype" => {
                    state.dtype_seen = true;
                    if let Value::Dtype { itemsize, object } = value {
                        state.itemsize = itemsize;
                        state.object = object;
                    }
                }
                "numpy_array_alignment_bytes" => {
                    state.alignment = Some(match value {
                        Value::Int(n) => Some(n),
                        _ => None,
                    });
                }
                _ => {}
            }
        }
        self.wrapper = Some((dict_slot, state));
    }

    fn shape_elements(&self, shape: Value) -> Option<u64> {
        let Value::Tuple { start, len } = shape else {
            return None;
        };
        let mut product = 1u64;
        for i in 0..len as usize {
            match self.tuples.get(start as usize + i) {
                Some(Value::Int(n)) => product = product.checked_mul(u64::try_from(*n).ok()?)?,
                _ => return None,
            }
        }
        Some(product)
    }
}

/// Splits `a.b:c` or `a.b.c` into module and qualname.
fn split_path(path: &str) -> (&str, &str) {
    if let Some((module, name)) = path.split_once(':') {
        return (module, name);
    }
    path.rsplit_once('.').unwrap_or(("builtins", path))
}
