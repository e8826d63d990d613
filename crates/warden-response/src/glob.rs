//! The one glob matcher of incident rules and playbook triggers.

/// Whether `text` (a rule id, a subject) matches `pattern`, where `*` matches any text (dots
/// included) and `?` one character: the globs of incident rules and playbook triggers. Greedy with
/// backtracking to the last `*` only, so time is bounded by pattern length x text length.
pub fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob("pii.*", "pii.email"));
        assert!(glob("monitor.extraction*", "monitor.extraction"));
        assert!(glob("*", "anything"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(glob("server.login-burst", "server.login-burst"));
        assert!(glob("pickle.?ode-object", "pickle.code-object"));
        assert!(!glob("pii.*", "xpii.email"));
        assert!(!glob("a*b", "ab-c"));
        assert!(!glob("aa*aa", "aaa"));
        assert!(!glob("server.login-burst", "server.login-burst2"));
        assert!(!glob("a?", "a"));
    }
}
