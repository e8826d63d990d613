//! Tests of the chat-template checker: real templates stay silent, known sandbox escapes do not.

use proptest::prelude::*;
use warden_core::{Finding, Severity};

use super::*;
use crate::settings::ScanSettings;

fn findings(template: &str) -> Vec<Finding> {
    let settings = ScanSettings::default();
    let mut ctx = ScanContext::new(&settings, "m.gguf");
    check(&mut ctx, "tokenizer.chat_template", template, 1000);
    ctx.finish().0
}

fn worst(template: &str) -> Option<Severity> {
    findings(template).iter().map(|f| f.severity).max()
}

/// Meta-Llama-3-8B-Instruct `tokenizer_config.json` chat_template.
const LLAMA3: &str = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

/// Mistral-7B-Instruct-v0.1 chat_template.
const MISTRAL: &str = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

/// Qwen2 / ChatML chat_template.
const CHATML: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// gemma-7b-it chat_template.
const GEMMA: &str = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";

/// Phi-3-mini-4k-instruct chat_template.
const PHI3: &str = "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/// The tool-calling parts of Qwen2.5 / Llama 3.1 style templates: namespace, tojson, string
/// methods, whitespace control and a default system prompt with words like "system" and "import".
const TOOLS: &str = r#"{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- if tools %}{{- '<|im_start|>system\n' }}{{- "You may call one or more functions; do not import or eval anything the system did not provide." }}
{%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}{%- endif %}
{%- for message in messages %}{%- if message.content is string %}{%- set content = message.content %}{%- else %}{%- set content = '' %}{%- endif %}
{%- if message.role == "user" and not(content.startswith('<tool_response>') and content.endswith('</tool_response>')) %}{%- set ns.last_query_index = loop.index0 %}{%- endif %}
{%- if '</think>' in content %}{%- set content = content.split('</think>')[-1].lstrip('\n') %}{%- endif %}
{{- '<|im_start|>' + message.role + '\n' + content.strip() + '<|im_end|>' + '\n' }}{%- endfor %}
{#- a comment with __class__ is not code #}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"#;

#[test]
fn real_chat_templates_are_clean() {
    for (name, template) in [("llama3", LLAMA3), ("mistral", MISTRAL), ("chatml", CHATML), ("gemma", GEMMA), ("phi3", PHI3), ("tools", TOOLS)] {
        let found = findings(template);
        assert!(found.is_empty(), "{name}: {found:?}");
    }
}

#[test]
fn classic_cycler_escape_is_critical_with_offset_and_evidence() {
    let template = "{{ bos_token }}{{ cycler.__init__.__globals__.os.popen('id').read() }}";
    let found = findings(template);
    assert!(found.iter().all(|f| f.rule_id.as_str() == "gguf.chat-template-injection"), "{found:?}");
    let dunder = found.iter().find(|f| f.message.contains("dunder attribute")).expect("dunder finding");
    assert_eq!(dunder.severity, Severity::Critical);
    assert_eq!(dunder.location.offset, Some(1000 + 25));
    let evidence = dunder.evidence.as_deref().expect("evidence");
    assert!(evidence.contains("__init__") && evidence.len() <= MAX_EVIDENCE + 30, "{evidence}");
    assert!(found.iter().any(|f| f.message.contains("Jinja global")));
    assert!(found.iter().any(|f| f.message.contains("process")));
}

#[test]
fn known_escape_shapes_are_critical() {
    for template in [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ joiner.__init__.__globals__ }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ self._TemplateReference__context.cycler }}",
        "{{ ''|attr('__class__') }}",
        "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
        "{{ ''|attr('\\u005f\\u005fclass\\u005f\\u005f') }}",
        "{{ ''|attr('_'*2 ~ 'class' ~ '_'*2) }}",
        "{{ ''|attr('__cla' ~ 'ss__') }}",
        "{{ ''|attr(['__','class','__']|join) }}",
        "{% set x = '__ssalc__'|reverse %}{{ ''|attr(x) }}",
        "{{ x.__import__('os') }}",
        "{% for m in messages %}{{ m.content }}{{ os.system('id') }}{% endfor %}",
        "{{ config.items() }}",
        "{{ ''|attr(name) }}",
        "{{ '%c%c'|format(95, 95) }}",
    ] {
        assert!(worst(template) >= Some(Severity::High), "{template}: {:?}", findings(template));
    }
}

#[test]
fn words_in_strings_and_output_text_are_not_code() {
    let template = "Do not eval( or exec( or import os.system here. {{ 'call os.popen and subprocess' }}{# cycler.__init__ #}{% raw %}{{ lipsum }}{% endraw %}";
    assert_eq!(worst(template), None, "{:?}", findings(template));
}

#[test]
fn unusual_constructs_are_medium_at_most() {
    for template in ["{% import 'macros.j2' as m %}", "{{ x|attr('content') }}", "{% for i in range(10000000) %}x{% endfor %}", "{{ x.__len__() }}"] {
        assert_eq!(worst(template), Some(Severity::Medium), "{template}: {:?}", findings(template));
    }
}

#[test]
fn repeated_constructs_are_one_finding() {
    let found = findings("{{ a.__class__ }}{{ b.__class__ }}{{ c.__class__ }}");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("3 places"));
}

proptest! {
    #[test]
    fn random_templates_never_panic(template in r#"(\{\{|\{%|\{#|%\}|\}\}|#\}|'|"|\\x5|\\u00|\\N\{|\\[0-7]|__|class|[ a-z._|~()\[\]*0-9]|é){0,60}"#) {
        let _ = findings(&template);
    }
}
