//! The constitutional pin is the node's: any `Node::open` refuses a layer
//! that is missing or not the pinned one, and pinning a new layer logs it,
//! announces it to every partner and audits it in one node operation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use soberana_core::{Direction, ProposalBody, ProposalKind};
use soberana_node::{Node, NodeError, PolicyVerdict, ProposalPolicy, Verdict};

struct Allow;

impl ProposalPolicy for Allow {
    fn evaluate(
        &self,
        _: &soberana_core::Proposal,
        _: &[soberana_core::Proposal],
    ) -> PolicyVerdict {
        support::test_verdict(Verdict::Allow { conditions: vec![] }, &"44".repeat(32))
    }
    fn digest(&self) -> String {
        "44".repeat(32)
    }
}

fn open(dir: &std::path::Path) -> Result<Node, NodeError> {
    Node::open(dir, Arc::new(Allow))
}

#[test]
fn a_node_opens_only_on_its_pinned_constitutional_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us) = support::pair(dir.path(), || Arc::new(Allow));
    let root = mx.dir().root().to_owned();
    let layer = soberana_node::constitutional_path(mx.dir());
    let log_before = mx.log_size().unwrap();
    drop(mx);

    // Edited behind the pin: refused, naming the fix.
    std::fs::write(&layer, "// red lines, quietly loosened\n").unwrap();
    let err = open(&root).err().expect("an edited layer is refused");
    assert!(matches!(err, NodeError::Constitutional(_)), "{err}");
    assert!(
        err.to_string().contains("differs") && err.to_string().contains("policy pin"),
        "{err}"
    );
    // Missing: refused.
    std::fs::remove_file(&layer).unwrap();
    let err = open(&root).err().expect("a missing layer is refused");
    assert!(err.to_string().contains("missing"), "{err}");
    // Unpinned: refused.
    std::fs::write(&layer, support::TEST_CONSTITUTIONAL).unwrap();
    let config = root.join("node.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let pinned_line = text
        .lines()
        .find(|l| l.starts_with("constitutional_digest"))
        .unwrap()
        .to_owned();
    std::fs::write(
        &config,
        text.replace(&pinned_line, "constitutional_digest = \"\""),
    )
    .unwrap();
    let err = open(&root).err().expect("an unpinned node is refused");
    assert!(
        err.to_string().contains("no constitutional digest"),
        "{err}"
    );
    std::fs::write(&config, &text).unwrap();

    // Back as pinned: it opens, and nothing was written meanwhile.
    let mx = open(&root).unwrap();
    assert_eq!(mx.log_size().unwrap(), log_before);
}

#[test]
fn pinning_a_new_layer_logs_announces_and_audits_it_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mx, _us) = support::pair(dir.path(), || Arc::new(Allow));
    let root = mx.dir().root().to_owned();
    let layer = soberana_node::constitutional_path(mx.dir());
    let log_before = mx.log_size().unwrap();
    drop(mx);

    let stricter = "// red lines of a test node, one more\n";
    std::fs::write(&layer, stricter).unwrap();
    assert!(open(&root).is_err());
    let pinned = Node::pin_constitutional(&root, Arc::new(Allow), "cli:maria")
        .unwrap()
        .expect("a new layer is pinned");
    assert_eq!(
        pinned.digest,
        soberana_node::constitutional_digest(stricter.as_bytes())
    );
    assert_eq!(
        pinned.previous,
        soberana_node::constitutional_digest(support::TEST_CONSTITUTIONAL.as_bytes())
    );
    assert_eq!(pinned.announced.len(), 1, "one partner, one notice");

    let mx = open(&root).expect("the node opens on its new pin");
    assert_eq!(
        mx.log_size().unwrap(),
        log_before + 2,
        "the pin and the announcement are logged"
    );
    let sent = mx.list(Some(Direction::Outgoing), vec![]).unwrap();
    assert_eq!(sent.len(), 1);
    let notice = &sent[0].proposal;
    assert_eq!(notice.kind(), ProposalKind::AdvanceNotification);
    let ProposalBody::AdvanceNotification(body) = &notice.body else {
        panic!("{notice:?}")
    };
    assert!(body.summary.contains(&pinned.digest), "{}", body.summary);
    let trail = mx.officers().audit_trail(5).unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.action == "policy_pin" && e.officer == "cli:maria"),
        "{trail:?}"
    );

    // Pinning the same layer again writes nothing.
    drop(mx);
    assert!(
        Node::pin_constitutional(&root, Arc::new(Allow), "cli:maria")
            .unwrap()
            .is_none()
    );
    assert_eq!(open(&root).unwrap().log_size().unwrap(), log_before + 2);
}
