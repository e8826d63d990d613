//! Policy tests: shipped examples and counterexamples, precedence, user files and bypass names.

use super::*;

fn verdict_of<'p>(policy: &'p Policy, path: &str) -> Verdict<'p> {
    let (module, name) = split_example(path);
    policy.classify(module, name)
}

fn is_deny(v: Verdict<'_>) -> bool {
    matches!(v, Verdict::Deny(_))
}

#[test]
fn shipped_examples_get_their_entrys_verdict() {
    let file: PolicyFile = toml::from_str(SHIPPED_POLICY)
        .map_err(|e| e.message().to_owned())
        .unwrap();
    let policy = Policy::default();
    let mut checked = 0;
    for (kind, entries) in [
        ("allow", &file.allow),
        ("review", &file.review),
        ("deny", &file.deny),
    ] {
        for entry in entries {
            assert!(
                !entry.examples.is_empty(),
                "shipped {kind} entry {:?} has no examples",
                entry.patterns
            );
            for example in &entry.examples {
                let verdict = verdict_of(&policy, example);
                let ok = match (kind, verdict) {
                    ("allow", Verdict::Allow) => true,
                    ("review", Verdict::Unknown { reason }) => reason == entry.reason.as_deref(),
                    ("deny", Verdict::Deny(d)) => {
                        d.code == (entry.rule.as_deref() == Some("code-object")) || d.tail > 0
                    }
                    _ => false,
                };
                assert!(ok, "{kind} example `{example}` got {verdict:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 150, "only {checked} examples checked");
}

#[test]
fn known_bypasses_are_denied() {
    let policy = Policy::default();
    for path in [
        "pip.main",
        "pip._internal.cli.main.main",
        "runpy._run_code",
        "builtins.getattr",
        "__builtin__.getattr",
        "operator.methodcaller",
        "operator.attrgetter",
        "functools.partial",
        "sys:modules.get",
        "importlib.import_module",
        "torch.load",
        "numpy.load",
        "types.CodeType",
        "marshal.loads",
        "uuid._get_command_stdout",
        "posixpath:os.system",
        "torch.serialization:os.system",
        "sklearn.utils:subprocess.Popen",
        "sklearn.pipeline:Pipeline.__init__.__globals__",
        "collections:OrderedDict.__class__.__subclasses__",
        "antigravity.fly",
    ] {
        assert!(
            is_deny(verdict_of(&policy, path)),
            "{path} should be denied, got {:?}",
            verdict_of(&policy, path)
        );
    }
}

#[test]
fn benign_model_callables_are_allowed() {
    let policy = Policy::default();
    for path in [
        "torch._utils._rebuild_tensor_v2",
        "torch.FloatStorage",
        "collections.OrderedDict",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.dtype",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.tree._tree.Tree",
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
        "_codecs.encode",
        "copyreg._reconstructor",
        "builtins.set",
    ] {
        assert_eq!(verdict_of(&policy, path), Verdict::Allow, "{path}");
    }
}

#[test]
fn dotted_names_need_an_exact_allow_and_unlisted_names_are_unknown() {
    let policy = Policy::default();
    assert_eq!(
        verdict_of(&policy, "sklearn.pipeline:Pipeline.Helper"),
        Verdict::Unknown { reason: None }
    );
    assert_eq!(
        verdict_of(&policy, "__main__.MyModel"),
        Verdict::Unknown { reason: None }
    );
    assert!(matches!(
        verdict_of(&policy, "sklearn.utils._testing.TempMemmap"),
        Verdict::Unknown { reason: Some(_) }
    ));
    assert_eq!(policy.classify("torch", "float32"), Verdict::Allow);
    // `__new__` as the last segment is a plain constructor.
    assert_eq!(
        verdict_of(&policy, "builtins:object.__new__"),
        Verdict::Unknown { reason: None }
    );
}

#[test]
fn torch_load_from_bytes_is_high_not_allowed() {
    let policy = Policy::default();
    match verdict_of(&policy, "torch.storage._load_from_bytes") {
        Verdict::Deny(d) => assert_eq!(d.severity, Severity::High),
        other => panic!("got {other:?}"),
    }
}

#[test]
fn user_layer_overrides_shipped_in_both_directions() {
    let mut policy = Policy::default();
    let user = Policy::from_toml(
        r#"
        [[allow]]
        patterns = ["mycorp.models.**.[A-Z]*", "os.getcwd"]
        [[deny]]
        patterns = ["collections.OrderedDict"]
        reason = "we never use ordered dicts"
        severity = "high"
        "#,
        "user.toml",
    )
    .unwrap();
    policy.merge(user);
    assert_eq!(verdict_of(&policy, "mycorp.models.net.Net"), Verdict::Allow);
    assert_eq!(verdict_of(&policy, "os.getcwd"), Verdict::Allow);
    assert!(is_deny(verdict_of(&policy, "os.system")));
    match verdict_of(&policy, "collections.OrderedDict") {
        Verdict::Deny(d) => {
            assert_eq!(d.severity, Severity::High);
            assert_eq!(d.reason, "we never use ordered dicts");
        }
        other => panic!("got {other:?}"),
    }
    // A user glob does not allow attribute traversal out of the user's namespace.
    assert!(is_deny(verdict_of(
        &policy,
        "mycorp.models.net:Net.os.system"
    )));
    assert!(is_deny(verdict_of(
        &policy,
        "mycorp.models:subprocess.Popen"
    )));
    assert_eq!(
        policy.origins().collect::<Vec<_>>(),
        ["<shipped policy>", "user.toml"]
    );
}

#[test]
fn invalid_policy_files_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[[deny]]\npatterns = [\"os.**\"]\n", "needs a `reason`"),
        (
            "[[deny]]\npatterns = [\"os.**\"]\nreason = \"x\"\nseverity = \"severe\"\n",
            "unknown severity",
        ),
        (
            "[[allow]]\npatterns = [\"a.b\"]\nseverity = \"high\"\n",
            "only for deny",
        ),
        ("[[allow]]\npatterns = [\"a..b\"]\n", "empty segment"),
        (
            "[[allow]]\npatterns = [\"a.b\"]\nexamples = [\"a.c\"]\n",
            "example `a.c`",
        ),
        (
            "[[allow]]\npatterns = [\"a.*\"]\ncounterexamples = [\"a.c\"]\n",
            "counterexample `a.c`",
        ),
        ("[[allow]]\npatern = [\"a.b\"]\n", "unknown field"),
        ("[[allow]\n", "line 1"),
        ("version = 2\n", "unsupported policy version"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("p{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let err = Policy::from_file(&path).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Policy { .. }), "{message}");
        assert!(
            message.contains(expected) && message.contains(&format!("p{i}.toml")),
            "case {i}: {message}"
        );
    }
    let missing = Policy::from_file(&dir.path().join("missing.toml")).unwrap_err();
    assert!(missing.to_string().contains("cannot read"));
}

#[test]
fn empty_policy_knows_nothing_but_the_dunder_rule() {
    let policy = Policy::empty();
    assert_eq!(
        policy.classify("os", "system"),
        Verdict::Unknown { reason: None }
    );
    assert!(is_deny(policy.classify("foo", "Bar.__init__.__globals__")));
}
