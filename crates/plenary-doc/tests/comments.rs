//! Comment-scope documents and the effect the server enforces ownership on.
#![allow(clippy::unwrap_used)]
use plenary_doc::{CommentsDoc, NewComment, NewReply};
use serde_json::json;
use yrs::{Map, Out, ReadTxn, Transact, WriteTxn};

fn new_comment(author: &str, delegation: &str) -> NewComment {
    NewComment {
        paragraph_id: "op3".into(),
        anchor: None,
        text: "Could we say \"encourages\"?".into(),
        author: author.into(),
        author_name: format!("Delegate of {delegation}"),
        delegation: delegation.into(),
        created_at: 1_700_000_000_000,
    }
}

fn replica(s: &CommentsDoc) -> CommentsDoc {
    CommentsDoc::from_update(&s.encode_state()).unwrap()
}

#[test]
fn comments_and_replies_read_back() {
    let mut d = CommentsDoc::with_client_id(1);
    let (cid, _) = d.add_comment(&new_comment("u-jpn", "JPN")).unwrap();
    let (rid, _) = d
        .add_reply(
            &cid,
            &NewReply {
                text: "Fine with us.".into(),
                author: "u-can".into(),
                author_name: "Delegate of CAN".into(),
                delegation: "CAN".into(),
                created_at: 1_700_000_000_500,
            },
        )
        .unwrap();
    d.resolve(&cid, true, "u-chair").unwrap();
    let c = d.comment(&cid).unwrap();
    assert_eq!(c.paragraph_id, "op3");
    assert_eq!(c.delegation, "JPN");
    assert!(c.resolved);
    assert_eq!(c.resolved_by.as_deref(), Some("u-chair"));
    assert_eq!(c.replies.len(), 1);
    assert_eq!(c.replies[0].id, rid);
    assert_eq!(c.replies[0].delegation, "CAN");
    assert!(d.resolve("nope", true, "x").is_err());
}

#[test]
fn the_effect_names_comment_authors_and_what_changed() {
    let mut server = CommentsDoc::with_client_id(1);
    let mut jpn = replica(&server);
    let (cid, u) = jpn.add_comment(&new_comment("u-jpn", "JPN")).unwrap();
    let e = server.apply(&u).unwrap();
    let created = e.comments[&cid].created.as_ref().unwrap();
    assert_eq!(created["author"], json!("u-jpn"));
    assert_eq!(created["delegation"], json!("JPN"));
    assert_eq!(created["resolved"], json!(false));

    let mut can = replica(&server);
    let (_, u) = can
        .add_reply(
            &cid,
            &NewReply {
                text: "Agree".into(),
                author: "u-can".into(),
                author_name: "CAN".into(),
                delegation: "CAN".into(),
                created_at: 2,
            },
        )
        .unwrap();
    let e = server.apply(&u).unwrap();
    let ce = &e.comments[&cid];
    assert!(ce.created.is_none() && ce.fields.is_empty());
    assert_eq!(ce.replies_added[0]["delegation"], json!("CAN"));
    assert_eq!(ce.replies_added[0]["author"], json!("u-can"));

    // CAN editing JPN's text is visible as a field write on JPN's comment
    let doc = can.doc().clone();
    let sv = doc.transact().state_vector();
    {
        let mut txn = doc.transact_mut();
        let root = txn.get_or_insert_map("comments");
        let Some(Out::YMap(c)) = root.get(&txn, &cid) else {
            panic!()
        };
        c.insert(&mut txn, "text", "rewritten");
    }
    let u = doc.transact().encode_state_as_update_v1(&sv);
    let e = server.effect(&u).unwrap();
    assert_eq!(e.comments[&cid].fields["text"].values, [json!("rewritten")]);

    let mut chair = replica(&server);
    let u = chair.resolve(&cid, true, "u-chair").unwrap();
    let e = server.effect(&u).unwrap();
    let f = &e.comments[&cid].fields;
    assert_eq!(f["resolved"].values, [json!(true)]);
    assert_eq!(f["resolvedBy"].values, [json!("u-chair")]);
}

#[test]
fn other_roots_in_a_comments_doc_are_unknown() {
    let server = CommentsDoc::with_client_id(1);
    let c = replica(&server);
    let doc = c.doc().clone();
    let sv = doc.transact().state_vector();
    {
        let mut txn = doc.transact_mut();
        let m = txn.get_or_insert_map("paragraphs");
        m.insert(&mut txn, "x", 1);
    }
    let u = doc.transact().encode_state_as_update_v1(&sv);
    assert_eq!(server.effect(&u).unwrap().unknown.len(), 1);
    assert!(server.effect(&[1, 2, 3]).is_err());
}
