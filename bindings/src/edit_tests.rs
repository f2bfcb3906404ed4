//! The translation between the FFI's edit types and the core's loses nothing and lets nothing
//! through that the core would refuse.

use sync_core::model as core;

use super::*;

/// One edit of every kind, in the core's JSON (the browser client's form).
const EDITS: [&str; 10] = [
    r#"{"type":"addBlock","kind":{"kind":"todo","checked":false},"text":"milk","target":{"type":"end","parent":null}}"#,
    r#"{"type":"addBlock","kind":{"kind":"code","language":"rust"},"text":"","target":{"type":"after","block":"00000000000000aa"}}"#,
    r#"{"type":"insertText","block":"00000000000000aa","pos":3,"text":"é🙂"}"#,
    r#"{"type":"deleteText","block":"00000000000000aa","pos":1,"len":2}"#,
    r#"{"type":"setText","block":"00000000000000aa","text":"new"}"#,
    r#"{"type":"mark","block":"00000000000000aa","start":0,"end":4,"mark":{"name":"link","value":"https://x"}}"#,
    r#"{"type":"unmark","block":"00000000000000aa","start":0,"end":4,"name":"bold"}"#,
    r#"{"type":"setKind","block":"00000000000000aa","kind":{"kind":"heading","level":3}}"#,
    r#"{"type":"move","block":"00000000000000aa","target":{"type":"start","parent":"00000000000000bb"}}"#,
    r#"{"type":"setTitle","title":"T"}"#,
];

#[test]
fn every_edit_crosses_the_ffi_and_back_unchanged() {
    for json in EDITS {
        let original: core::PageEdit = serde_json::from_str(json).unwrap();
        let ffi = edit_from_json(json.to_owned()).unwrap();
        let back: core::PageEdit = ffi.try_into().unwrap();
        assert_eq!(back, original, "{json}");
    }
    let delete = PageEdit::Delete {
        block: "00000000000000aa".to_owned(),
    };
    assert!(matches!(
        core::PageEdit::try_from(delete).unwrap(),
        core::PageEdit::Delete { .. }
    ));
}

#[test]
fn what_the_core_refuses_is_refused_at_the_ffi() {
    let refused = [
        PageEdit::AddBlock {
            kind: BlockKind::Heading { level: 4 },
            text: String::new(),
            target: Target::End { parent: None },
        },
        PageEdit::SetText {
            block: "a|b".to_owned(),
            text: String::new(),
        },
        PageEdit::Mark {
            block: "00000000000000aa".to_owned(),
            start: 0,
            end: 1,
            mark: MarkSpec {
                name: MarkName::Link,
                value: None,
            },
        },
        PageEdit::Mark {
            block: "00000000000000aa".to_owned(),
            start: 0,
            end: 1,
            mark: MarkSpec {
                name: MarkName::Bold,
                value: Some("x".to_owned()),
            },
        },
        PageEdit::Move {
            block: "00000000000000aa".to_owned(),
            target: Target::After {
                block: String::new(),
            },
        },
    ];
    for edit in refused {
        let err = core::PageEdit::try_from(edit.clone()).unwrap_err();
        assert!(
            matches!(err, TesseraError::InvalidInput { .. }),
            "{edit:?}: {err:?}"
        );
    }
    assert!(matches!(
        edit_from_json(r#"{"type":"nope"}"#.to_owned()),
        Err(TesseraError::InvalidInput { .. })
    ));
}

#[test]
fn every_relay_code_keeps_its_wire_name() {
    for code in sync_core::protocol::ErrorCode::ALL {
        assert_eq!(
            crate::status::error_code_name(code.into()),
            code.as_str(),
            "{code:?}"
        );
    }
}
