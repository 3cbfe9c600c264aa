//! Comment scopes (issue 4): separate documents per scope, joined only by
//! those who belong; a delegation's private notes never reach anyone else's
//! socket, whatever they connect to.

use std::time::Duration;

use plenary_doc::{CommentsDoc, NewComment};
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, StateVector, Transact, Update};

use crate::support::*;

fn sub(who: &Who) -> String {
    who.claims().sub
}

/// Writes a comment from `who` into its client's scope document.
fn comment(client: &Client, who: &Who, text: &str, author_override: Option<&str>) -> String {
    let state = client
        .doc()
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let mut mirror = CommentsDoc::from_update(&state).unwrap();
    let (id, update) = mirror
        .add_comment(&NewComment {
            paragraph_id: "p6".into(),
            anchor: None,
            text: text.into(),
            author: author_override
                .map(str::to_string)
                .unwrap_or_else(|| sub(who)),
            author_name: who.name.clone(),
            delegation: who
                .delegation
                .clone()
                .unwrap_or_else(|| who.role.label().to_string()),
            created_at: 1,
        })
        .unwrap();
    client
        .doc()
        .transact_mut()
        .apply_update(Update::decode_v1(&update).unwrap())
        .unwrap();
    id
}

fn has_comment_text(doc: &yrs::Doc, text: &str) -> bool {
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    CommentsDoc::from_update(&state)
        .unwrap()
        .comments()
        .iter()
        .any(|c| c.text == text)
}

async fn recording(server: &TestServer, doc: &str, who: &Who) -> Client {
    let c = Client::connect_with(
        &server.ws_url(doc, &who.token()),
        ClientOptions {
            record_frames: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    c.wait_synced(WAIT).await.unwrap();
    c
}

#[tokio::test]
async fn private_and_group_comments_never_reach_other_delegations() {
    let server = server();
    let _chair = seeded(&server, "cm").await;
    let jpn = Who::delegate("JPN").groups(&["G77"]);
    let fra = Who::delegate("FRA").groups(&["EU"]);
    let deu = Who::delegate("DEU").groups(&["EU"]);

    // FRA and the chair listen on every scope their tokens open, recording every frame.
    let mut listeners = Vec::new();
    for (who, scopes) in [
        (&fra, vec!["public", "group/EU", "delegation/FRA"]),
        (&Who::chair(), vec!["public"]),
        (&Who::observer(), vec!["public"]),
    ] {
        for scope in scopes {
            listeners.push(recording(&server, &format!("cm/comments/{scope}"), who).await);
        }
    }
    // Joining someone else's scope is refused before the upgrade.
    for (who, scope) in [
        (&fra, "delegation/JPN"),
        (&fra, "group/G77"),
        (&Who::chair(), "delegation/JPN"),
        (&jpn, "group/EU"),
    ] {
        match Client::connect(&server.ws_url(&format!("cm/comments/{scope}"), &who.token())).await {
            Err(plenary_client::ClientError::Rejected { status, .. }) => {
                assert_eq!(status, 403, "{scope}")
            }
            other => panic!("{scope}: expected 403, got {other:?}"),
        }
    }

    // JPN writes privately, to its group, and publicly; DEU writes to the EU group.
    let jpn_private = connect(&server, "cm/comments/delegation/JPN", &jpn).await;
    comment(&jpn_private, &jpn, "SECRET-JPN-fallback-position", None);
    let jpn_group = connect(&server, "cm/comments/group/G77", &jpn).await;
    comment(&jpn_group, &jpn, "SECRET-G77-coordination", None);
    let jpn_public = connect(&server, "cm/comments/public", &jpn).await;
    comment(&jpn_public, &jpn, "PUBLIC-JPN-remark", None);
    let deu_group = connect(&server, "cm/comments/group/EU", &deu).await;
    comment(&deu_group, &deu, "EU-only-line", None);

    // Public and own-group comments arrive where they should …
    let fra_public = &listeners[0];
    fra_public
        .wait_until(WAIT, |d| has_comment_text(d, "PUBLIC-JPN-remark"))
        .await
        .unwrap();
    listeners[1]
        .wait_until(WAIT, |d| has_comment_text(d, "EU-only-line"))
        .await
        .unwrap();
    // … and a reader of JPN's own scope (a second JPN delegate) sees its notes.
    let jpn2 = connect(
        &server,
        "cm/comments/delegation/JPN",
        &jpn.clone().named("Second delegate of JPN"),
    )
    .await;
    jpn2.wait_until(WAIT, |d| {
        has_comment_text(d, "SECRET-JPN-fallback-position")
    })
    .await
    .unwrap();

    tokio::time::sleep(Duration::from_millis(300)).await;
    // Not one byte of JPN's private or group notes in any frame anyone else received.
    for l in &listeners {
        for frame in l.frames() {
            for secret in ["SECRET-JPN", "SECRET-G77"] {
                assert!(
                    !frame.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "a frame carried {secret}"
                );
            }
        }
    }
    // The chair and the observer (public only) never saw the EU group line either.
    for l in &listeners[3..] {
        assert!(
            !l.frames()
                .iter()
                .any(|f| f.windows(12).any(|w| w == b"EU-only-line"))
        );
    }
}

#[tokio::test]
async fn comment_authorship_is_enforced() {
    let server = server();
    let _chair = seeded(&server, "ca").await;
    let jpn = Who::delegate("JPN");
    let fra = Who::delegate("FRA");
    let a = connect(&server, "ca/comments/public", &jpn).await;
    let id = comment(&a, &jpn, "JPN view", None);
    let b = connect(&server, "ca/comments/public", &fra).await;
    b.wait_until(WAIT, |d| has_comment_text(d, "JPN view"))
        .await
        .unwrap();

    // FRA signs a comment as JPN: refused.
    let mut events = b.events();
    comment(&b, &fra, "forged", Some(&sub(&jpn)));
    let reason = next_denial(&mut events).await;
    assert!(reason.contains("comments.author"), "{reason}");

    // FRA resolves JPN's comment: refused; the chair may.
    let b2 = connect(&server, "ca/comments/public", &fra).await;
    let mut events = b2.events();
    resolve(&b2, &id, "FRA");
    let reason = next_denial(&mut events).await;
    assert!(reason.contains("comments.resolve-own-only"), "{reason}");
    let chair = connect(&server, "ca/comments/public", &Who::chair()).await;
    resolve(&chair, &id, "Chair");
    a.wait_until(WAIT, |d| {
        let state = d
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        CommentsDoc::from_update(&state)
            .unwrap()
            .comment(&id)
            .is_some_and(|c| c.resolved)
    })
    .await
    .unwrap();
    // Observers do not write comments (the default policy).
    let obs = connect(&server, "ca/comments/public", &Who::observer()).await;
    let mut events = obs.events();
    comment(&obs, &Who::observer(), "observer note", None);
    let reason = next_denial(&mut events).await;
    assert!(reason.contains("comments.observers-disabled"), "{reason}");

    // The scope's policy may let them: the chair or the secretariat sets it,
    // a delegate may not.
    let jpn_again = connect(&server, "ca/comments/public", &jpn).await;
    expect_denial(&jpn_again, "meta.chair-or-secretariat", |c| {
        set_policy(c, true)
    })
    .await;
    // Once the chair has seen the server revert JPN's attempt (JPN's structs
    // reach it only inside that net change), the chair sets the policy.
    converged(&jpn_again, &chair).await;
    set_policy(&chair, true);
    let obs = connect(&server, "ca/comments/public", &Who::observer()).await;
    obs.wait_until(WAIT, |d| {
        CommentsDoc::from_update(
            &d.transact()
                .encode_state_as_update_v1(&StateVector::default()),
        )
        .unwrap()
        .observers_may_comment()
    })
    .await
    .unwrap();
    comment(&obs, &Who::observer(), "observer note, now allowed", None);
    a.wait_until(WAIT, |d| has_comment_text(d, "observer note, now allowed"))
        .await
        .unwrap();
    assert!(obs.denials().is_empty(), "{:?}", obs.denials());
}

fn resolve(c: &Client, id: &str, by: &str) {
    let state = c
        .doc()
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let mut mirror = CommentsDoc::from_update(&state).unwrap();
    let update = mirror.resolve(id, true, by).unwrap();
    c.doc()
        .transact_mut()
        .apply_update(Update::decode_v1(&update).unwrap())
        .unwrap();
}

fn set_policy(c: &Client, allowed: bool) {
    let state = c
        .doc()
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let mut mirror = CommentsDoc::from_update(&state).unwrap();
    let update = mirror.set_observers_may_comment(allowed).unwrap();
    c.doc()
        .transact_mut()
        .apply_update(Update::decode_v1(&update).unwrap())
        .unwrap();
}
