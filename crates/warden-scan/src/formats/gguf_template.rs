//! Chat templates: Jinja2 programs shipped in model metadata (GGUF `tokenizer.chat_template*`)
//! and rendered by loaders on every request.
//!
//! Jinja's sandbox stops attribute access to Python internals, but loaders have rendered templates
//! in a plain `Environment` (llama-cpp-python, CVE-2024-34359), where `{{ cycler.__init__.__globals__
//! .os.popen('id').read() }}` runs a shell. Real chat templates need none of that: they loop over
//! messages, compare roles, concatenate strings and call a few filters. So we look only at the
//! code inside `{{ }}` and `{% %}` (output text and comments do not run), and flag what only an
//! escape needs: dunder attributes (also when spelled with escapes, concatenation, repetition or
//! reversal), the globals that lead to Python's internals, and process or import calls.

use std::sync::LazyLock;

use regex::Regex;
use warden_core::Severity;

use crate::context::ScanContext;
use crate::formats::gguf::{CHAT_TEMPLATE_INJECTION, CHAT_TEMPLATE_SUSPICIOUS};

/// Dunders that sandbox escapes walk through; any other dunder is merely suspicious.
const ESCAPE_DUNDERS: &[&str] = &[
    "class", "base", "bases", "mro", "subclasses", "globals", "builtins", "import", "init", "getattribute", "dict", "code",
    "closure", "func", "self", "module", "loader", "spec", "reduce", "reduce_ex", "getitem", "call", "new", "qualname",
];

/// Longest evidence snippet, in characters.
const MAX_EVIDENCE: usize = 120;

/// A pattern over template code with the severity it earns and why.
struct Pattern {
    regex: &'static LazyLock<Regex>,
    severity: Severity,
    what: &'static str,
}

static DUNDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"__([A-Za-z][A-Za-z0-9_]*?)__").expect("valid regex"));
static ESCAPE_GLOBALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(cycler|joiner|lipsum|url_for|get_flashed_messages|_TemplateReference__context)\b|\bself\s*\.\s*_|\bnamespace\s*\.\s*_")
        .expect("valid regex")
});
static PROCESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bos\s*\.\s*[a-z_]+|\bpopen\b|\bsubprocess\b|\b(eval|exec|system|execfile|compile)\s*\(|\bimport_module\b|\bbuiltins\b")
        .expect("valid regex")
});
static UNDERSCORE_REPEAT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"['"]_+['"]\s*\*\s*\d|\d\s*\*\s*['"]_+['"]"#).expect("valid regex"));
static APP_OBJECTS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(config|request|session)\s*(\.|\[|\|)").expect("valid regex"));
static ATTR_COMPUTED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"\|\s*attr\s*\(\s*[^'"\s]"#).expect("valid regex"));
static CHAR_FORMAT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"%c").expect("valid regex"));
static ATTR_LITERAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"\|\s*attr\s*\(\s*['"]"#).expect("valid regex"));
static TEMPLATE_LOADING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[-+]?\s*(import|from|include|extends)\b").expect("valid regex"));
static INTROSPECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(getattr|setattr|globals|locals|vars|dir|mro)\s*\(").expect("valid regex"));
static HUGE_RANGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\brange\s*\(\s*\d{6,}|\*\s*\d{7,}").expect("valid regex"));

/// Patterns matched against template code with string-literal contents blanked out, so prose in a
/// default system prompt ("Use the system tools") cannot trip them.
static CODE_PATTERNS: &[Pattern] = &[
    Pattern { regex: &ESCAPE_GLOBALS, severity: Severity::Critical, what: "reaches a Jinja global that leads to Python internals" },
    Pattern { regex: &PROCESS, severity: Severity::Critical, what: "calls process, eval or import machinery" },
    Pattern { regex: &APP_OBJECTS, severity: Severity::High, what: "uses a web application object (config/request/session)" },
    Pattern { regex: &ATTR_COMPUTED, severity: Severity::High, what: "reads an attribute whose name is computed (`|attr(...)`)" },
    Pattern { regex: &ATTR_LITERAL, severity: Severity::Medium, what: "reads an attribute through the `attr` filter" },
    Pattern { regex: &TEMPLATE_LOADING, severity: Severity::Medium, what: "loads another template" },
    Pattern { regex: &INTROSPECTION, severity: Severity::Medium, what: "calls an introspection function" },
    Pattern { regex: &HUGE_RANGE, severity: Severity::Medium, what: "builds a huge loop or string (denial of service)" },
];

/// Inspects one chat template; `offset` is where its text starts in the file.
pub(crate) fn check(ctx: &mut ScanContext<'_>, key: &str, template: &str, offset: u64) {
    let mut hits = Hits::default();
    for block in code_blocks(template) {
        let blanked = blank_literals(block.text);
        for pattern in CODE_PATTERNS {
            for m in pattern.regex.find_iter(&blanked) {
                hits.add(pattern.severity, pattern.what, block.start + m.start(), block.start + m.end());
            }
        }
        for m in UNDERSCORE_REPEAT.find_iter(block.text) {
            hits.add(Severity::Critical, "builds underscores by repetition (an obfuscated dunder)", block.start + m.start(), block.start + m.end());
        }
        for caps in DUNDER.captures_iter(block.text) {
            let m = caps.get(0).expect("whole match");
            let (severity, what) = dunder_severity(&caps[1]);
            hits.add(severity, what, block.start + m.start(), block.start + m.end());
        }
        let literals = literals(block.text);
        let mut stream = String::new();
        for literal in &literals {
            let at = block.start + literal.start;
            if literal.escaped_underscore {
                hits.add(Severity::Critical, "spells an underscore with an escape sequence (an obfuscated dunder)", at, at + literal.raw_len);
            } else if literal.escaped_printable {
                hits.add(Severity::Medium, "spells printable characters with escape sequences", at, at + literal.raw_len);
            }
            if CHAR_FORMAT.is_match(&literal.value) && blanked.contains("format") {
                hits.add(Severity::High, "builds characters from numbers (`%c` formatting)", at, at + literal.raw_len);
            }
            stream.push_str(&literal.value);
        }
        // Pieces joined with `~`, `+` or `|join`, or a reversed string, spell a dunder only here.
        let reversed: String = stream.chars().rev().collect();
        for text in [&stream, &reversed] {
            for caps in DUNDER.captures_iter(text) {
                let (severity, _) = dunder_severity(&caps[1]);
                if severity == Severity::Critical && !block.text.contains(&caps[0]) {
                    let end = block.start + block.text.len();
                    hits.add(Severity::Critical, "assembles a dunder name from string pieces", block.start, end);
                }
            }
        }
    }
    hits.report(ctx, key, template, offset);
}

fn dunder_severity(name: &str) -> (Severity, &'static str) {
    if ESCAPE_DUNDERS.contains(&name) {
        (Severity::Critical, "accesses a Python dunder attribute used in sandbox escapes")
    } else {
        (Severity::Medium, "mentions a Python dunder name")
    }
}

/// The code between `{{ }}` or `{% %}` delimiters, with its offset in the template.
struct Block<'t> {
    start: usize,
    text: &'t str,
}

static END_RAW: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{%[-+]?\s*endraw\s*[-+]?%\}").expect("valid regex"));

/// Splits a template into its code blocks, skipping output text, comments and `{% raw %}` bodies.
fn code_blocks(template: &str) -> Vec<Block<'_>> {
    let bytes = template.as_bytes();
    let mut blocks = Vec::new();
    let mut pos = 0;
    while let Some(found) = memchr::memchr(b'{', &bytes[pos..]) {
        let open = pos + found;
        let kind = bytes.get(open + 1).copied();
        match kind {
            Some(b'#') => {
                pos = memchr::memmem::find(&bytes[open..], b"#}").map_or(bytes.len(), |e| open + e + 2);
            }
            Some(b'{' | b'%') => {
                let start = open + 2;
                let close = if kind == Some(b'{') { b'}' } else { b'%' };
                let end = block_end(bytes, start, close);
                let text = &template[start..end];
                pos = (end + 2).min(bytes.len());
                let inner = text.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
                if kind == Some(b'%') && inner == "raw" {
                    pos = END_RAW.find_at(template, pos).map_or(bytes.len(), |m| m.end());
                }
                blocks.push(Block { start, text });
            }
            _ => pos = open + 1,
        }
    }
    blocks
}

/// Where a block opened at `start` ends: the first `}}` / `%}` outside string literals.
fn block_end(bytes: &[u8], start: usize, close: u8) -> usize {
    let mut i = start;
    let mut quote = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == close && bytes.get(i + 1) == Some(&b'}') => return i,
            None => {}
        }
        i += 1;
    }
    bytes.len()
}

/// `code` with the contents of string literals replaced by spaces, byte for byte.
fn blank_literals(code: &str) -> String {
    let mut out = code.as_bytes().to_vec();
    for literal in literals(code) {
        let end = literal.start + literal.raw_len - usize::from(literal.closed);
        for b in &mut out[literal.start + 1..end.max(literal.start + 1)] {
            *b = b' ';
        }
    }
    String::from_utf8(out).expect("only whole literal contents were replaced by ASCII")
}

/// A string literal in template code, decoded the way Jinja decodes it (Python escapes).
struct Literal {
    start: usize,
    raw_len: usize,
    closed: bool,
    value: String,
    escaped_underscore: bool,
    escaped_printable: bool,
}

fn literals(code: &str) -> Vec<Literal> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let q = bytes[i];
        if q != b'\'' && q != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        let mut value = String::new();
        let (mut escaped_underscore, mut escaped_printable) = (false, false);
        let mut j = i + 1;
        let mut closed = false;
        while j < bytes.len() {
            if bytes[j] == q {
                closed = true;
                break;
            }
            if bytes[j] == b'\\' {
                let (decoded, used) = decode_escape(&code[j + 1..]);
                if let Some(c) = decoded {
                    escaped_underscore |= c == '_';
                    escaped_printable |= c.is_ascii_alphanumeric() || c == '.';
                    value.push(c);
                }
                j += 1 + used;
                continue;
            }
            let c = code[j..].chars().next().expect("in bounds on a char boundary");
            value.push(c);
            j += c.len_utf8();
        }
        let end = if closed { j + 1 } else { bytes.len() };
        out.push(Literal { start, raw_len: end - start, closed, value, escaped_underscore, escaped_printable });
        i = end;
    }
    out
}

/// Decodes the escape after a backslash; returns the character (for the ones that spell one) and
/// how many bytes it used.
fn decode_escape(rest: &str) -> (Option<char>, usize) {
    let hex = |len: usize| -> (Option<char>, usize) {
        let digits = rest.get(1..1 + len).filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        match digits.and_then(|d| u32::from_str_radix(d, 16).ok()) {
            Some(n) => (char::from_u32(n), 1 + len),
            None => (None, 1),
        }
    };
    match rest.as_bytes().first() {
        Some(b'x') => hex(2),
        Some(b'u') => hex(4),
        Some(b'U') => hex(8),
        Some(b'N') if rest.starts_with("N{") => {
            let end = rest.find('}').map_or(rest.len(), |e| e + 1);
            let named = rest[..end].to_ascii_uppercase();
            (if named.contains("LOW LINE") { Some('_') } else { Some('?') }, end)
        }
        Some(b'0'..=b'7') => {
            let len = rest.bytes().take(3).take_while(|b| (b'0'..=b'7').contains(b)).count();
            (u32::from_str_radix(&rest[..len], 8).ok().and_then(char::from_u32), len)
        }
        Some(b'n') => (Some('\n'), 1),
        Some(b't') => (Some('\t'), 1),
        Some(_) => {
            let c = rest.chars().next().expect("non-empty");
            (Some(c), c.len_utf8())
        }
        None => (None, 0),
    }
}

/// What a template matched, one entry per kind of construct.
#[derive(Default)]
struct Hits {
    kinds: Vec<Hit>,
}

struct Hit {
    severity: Severity,
    what: &'static str,
    start: usize,
    end: usize,
    count: usize,
}

impl Hits {
    fn add(&mut self, severity: Severity, what: &'static str, start: usize, end: usize) {
        match self.kinds.iter_mut().find(|h| h.what == what) {
            Some(hit) => {
                hit.count += 1;
                if severity > hit.severity {
                    (hit.severity, hit.start, hit.end) = (severity, start, end);
                }
            }
            None => self.kinds.push(Hit { severity, what, start, end, count: 1 }),
        }
    }

    fn report(self, ctx: &mut ScanContext<'_>, key: &str, template: &str, offset: u64) {
        for hit in self.kinds {
            let rule = if hit.severity >= Severity::High { &CHAT_TEMPLATE_INJECTION } else { &CHAT_TEMPLATE_SUSPICIOUS };
            let times = if hit.count > 1 { format!(" ({} places)", hit.count) } else { String::new() };
            let message = format!("`{key}` {}{times}, at template offset {}", hit.what, hit.start);
            let finding = ctx.report_with_severity(rule, hit.severity, Some(offset + hit.start as u64), message);
            finding.evidence = Some(snippet(template, hit.start, hit.end));
        }
    }
}

/// The matched text with a little context, at most [`MAX_EVIDENCE`] characters.
fn snippet(template: &str, start: usize, end: usize) -> String {
    let floor = |mut i: usize| {
        while !template.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let from = floor(start.saturating_sub(16).min(template.len()));
    let to = floor(end.saturating_add(24).min(template.len()));
    let text: String = template[from..to].escape_debug().take(MAX_EVIDENCE).collect();
    format!("template offset {start}: {text}")
}

#[cfg(test)]
#[path = "gguf_template_tests.rs"]
mod tests;
