//! What a Keras `Lambda` layer's code says, without running or unmarshalling it.
//!
//! Keras stores a lambda as base64 of `marshal.dumps(code)`. A marshalled code object keeps its
//! names (`co_names`, `co_varnames`) and string constants as plain byte strings, so the identifiers
//! a lambda uses can be read straight out of the decoded bytes.

/// Largest decoded code object inspected; real lambdas are a few hundred bytes.
const MAX_DECODED: usize = 1 << 20;
/// Most distinct identifiers shown as evidence.
const MAX_SHOWN: usize = 24;

/// Names whose presence in a lambda means it reaches the OS, the network or Python's import and
/// evaluation machinery.
const DANGEROUS_NAMES: &[&str] = &[
    "os", "posix", "nt", "system", "popen", "spawn", "spawnl", "spawnv", "execl", "execv", "execve", "fork", "subprocess", "Popen",
    "check_output", "check_call", "run", "call", "eval", "exec", "compile", "__import__", "import_module", "importlib", "builtins",
    "__builtins__", "getattr", "setattr", "globals", "open", "socket", "connect", "urllib", "urlopen", "requests", "http", "pickle",
    "marshal", "loads", "ctypes", "shutil", "rmtree", "remove", "unlink", "sys", "modules", "runpy", "pty", "webbrowser", "write_file",
    "read_file", "gfile", "py_function", "numpy_function", "py_func",
];

/// The identifiers found in a lambda's code, split into the dangerous ones and the rest.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CodeNames {
    pub dangerous: Vec<String>,
    pub other: Vec<String>,
    /// Whether the text was base64 that decoded to something.
    pub decoded: bool,
}

impl CodeNames {
    /// Evidence for a finding: the dangerous names first, then the others.
    pub fn evidence(&self) -> String {
        let mut shown: Vec<&str> = self.dangerous.iter().chain(&self.other).map(String::as_str).take(MAX_SHOWN).collect();
        let more = self.dangerous.len() + self.other.len() - shown.len();
        if more > 0 {
            shown.push("…");
        }
        if shown.is_empty() {
            return "no identifiers found in the code".to_owned();
        }
        format!("names and strings in the code: {}", shown.join(", "))
    }
}

/// Decodes base64 `encoded` (bounded) and lists the identifiers in the marshalled code.
pub(crate) fn inspect(encoded: &str) -> CodeNames {
    let Some(bytes) = crate::encoding::decode_base64(encoded.as_bytes(), MAX_DECODED) else {
        return CodeNames::default();
    };
    let mut names = CodeNames { decoded: !bytes.is_empty(), ..CodeNames::default() };
    let strings = marshal_strings(&bytes);
    let texts: Vec<&[u8]> = if strings.is_empty() { vec![&bytes[..]] } else { strings };
    for token in texts.into_iter().flat_map(identifiers) {
        let list = if DANGEROUS_NAMES.contains(&token.as_str()) { &mut names.dangerous } else { &mut names.other };
        if !list.contains(&token) {
            list.push(token);
        }
    }
    names
}

/// The text strings of a marshal stream: names, variable names and string constants. They are
/// typed records (`z`/`Z` short ASCII with a one-byte length; `a`/`A`/`u`/`t` with a four-byte
/// length; the high bit flags a back-reference slot), so reading only those skips bytecode that
/// could spell a name by accident. Boilerplate (`<lambda>`, `<string>`) is left out.
fn marshal_strings(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let (header, len) = match bytes[i] & 0x7f {
            b'z' | b'Z' => (2, bytes.get(i + 1).map(|&n| usize::from(n))),
            b'a' | b'A' | b'u' | b't' => {
                (5, bytes.get(i + 1..i + 5).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize))
            }
            _ => (1, None),
        };
        let text = len
            .filter(|&n| n > 0 && n <= 4096)
            .and_then(|n| bytes.get(i + header..i + header + n))
            .filter(|t| t.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t'));
        match text {
            Some(text) => {
                if !matches!(text, b"<lambda>" | b"<string>" | b"<stdin>" | b"<module>") {
                    out.push(text);
                }
                i += header + text.len();
            }
            None => i += 1,
        }
    }
    out
}

/// Runs of identifier characters (`[A-Za-z_][A-Za-z0-9_]*`, 2 to 64 long) in `bytes`.
fn identifiers(bytes: &[u8]) -> impl Iterator<Item = String> + '_ {
    bytes
        .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .filter(|run| run.len() >= 2 && run.len() <= 64 && !run[0].is_ascii_digit())
        .map(|run| String::from_utf8_lossy(run).into_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `base64.b64encode(marshal.dumps((lambda x: __import__('os').system('id') or x).__code__))`
    /// from CPython 3.11.7, as Keras 3 stores it.
    const MALICIOUS_CODE: &str = "4wEAAAAAAAAAAAAAAAMAAAADAAAA80oAAACXAHQBAAAAAAAAAAAAAGQBpgEAAKsBAAAAAAAAAACgAQAAAAAAAAAAAAAAAAAAAAAAAAAAZAKmAQAAqwEAAAAAAAAAAHABfABTACkDTtoCb3PaAmlkKQLaCl9faW1wb3J0X1/aBnN5c3RlbakB2gF4cwEAAAAg+gg8c3RyaW5nPvoIPGxhbWJkYT5yCQAAAAQAAABzIgAAAIAAtQq4NNEwQNQwQNcwR9IwR8gE0TBN1DBN0DBS0FFSgADzAAAAAA==";

    #[test]
    fn decodes_standard_base64_with_line_breaks() {
    }

    #[test]
    fn dangerous_names_in_marshalled_code_are_found() {
        let names = inspect(MALICIOUS_CODE);
        assert!(names.decoded);
        assert!(names.dangerous.contains(&"__import__".to_owned()), "{names:?}");
        assert!(names.dangerous.contains(&"os".to_owned()) && names.dangerous.contains(&"system".to_owned()), "{names:?}");
        assert_eq!(names.evidence(), "names and strings in the code: os, __import__, system, id");
    }

    #[test]
    fn harmless_lambda_has_no_dangerous_names() {
        // `base64.b64encode(marshal.dumps((lambda x: x * 2).__code__))`, CPython 3.11.7.
        let names = inspect("4wEAAAAAAAAAAAAAAAIAAAADAAAA8wwAAACXAHwAZAF6BQAAUwApAk7pAgAAAKkAqQHaAXhzAQAAACD6CDxzdHJpbmc++gg8bGFtYmRhPnIHAAAABQAAAHMKAAAAgACwAbBBsQWAAPMAAAAA");
        assert!(names.decoded && names.dangerous.is_empty(), "{names:?}");
    }

    proptest! {
        #[test]
        fn any_text_decodes_or_not_without_panicking(text in ".{0,200}") {
            let _ = inspect(&text);
        }
    }
}
