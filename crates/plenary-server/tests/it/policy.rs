//! Roles enforced on the wire (issue 4): the handshake refuses bad tokens
//! with a reason, every update is checked before it touches the room, and
//! a forbidden one is answered with permission-denied, applied nowhere, and
//! leaves the connection usable.

use std::time::Duration;

use plenary_auth::Claims;

use crate::support::*;

fn ws_error(result: Result<Client, plenary_client::ClientError>) -> (u16, String) {
    match result {
        Err(plenary_client::ClientError::Rejected { status, body }) => (status, body),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected an HTTP refusal, the connection was accepted"),
    }
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn the_handshake_refuses_bad_tokens_with_a_reason() {
    let server = server();
    let url = |token: &str| server.ws_url("hs", token);
    let base = Who::delegate("JPN").claims();

    let (status, body) =
        ws_error(Client::connect(&format!("ws://{}/sync/hs", server.addr())).await);
    assert_eq!(status, 401);
    assert!(body.contains("missing token"), "{body}");

    let cases: Vec<(&str, String, &str)> = vec![
        ("garbage", "not.a.jwt".into(), "invalid token"),
        (
            "alg none",
            {
                let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
                let payload = b64(serde_json::to_string(&base).unwrap().as_bytes());
                format!("{header}.{payload}.")
            },
            "none",
        ),
        (
            "wrong secret",
            plenary_auth::Minter::hs256(b"another-secret-another-secret-another-secret")
                .unwrap()
                .mint(&base)
                .unwrap(),
            "signature",
        ),
        (
            "expired",
            sign(&Claims {
                exp: base.iat - 3600,
                iat: base.iat - 7200,
                ..base.clone()
            }),
            "expired",
        ),
        (
            "not yet valid",
            sign(&Claims {
                nbf: Some(base.iat + 3600),
                ..base.clone()
            }),
            "not valid before",
        ),
        (
            "wrong audience",
            sign(&Claims {
                aud: "someone-else".into(),
                ..base.clone()
            }),
            "audience",
        ),
        (
            "wrong issuer",
            sign(&Claims {
                iss: "evil".into(),
                ..base.clone()
            }),
            "issuer",
        ),
        (
            "tampered claims",
            {
                let good = sign(&base);
                let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
                let chair = Claims {
                    role: plenary_auth::Role::Chair,
                    ..base.clone()
                };
                parts[1] = b64(serde_json::to_string(&chair).unwrap().as_bytes());
                parts.join(".")
            },
            "signature",
        ),
    ];
    for (what, token, expect) in cases {
        let (status, body) = ws_error(Client::connect(&url(&token)).await);
        assert_eq!(status, 401, "{what}: {body}");
        assert!(body.to_lowercase().contains(expect), "{what}: {body}");
    }

    // A valid token for another document.
    let other = Who::delegate("JPN").docs(&["res-*"]).token();
    let (status, body) = ws_error(Client::connect(&url(&other)).await);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("does not open"), "{body}");
    // The same token opens a matching document, via the Authorization header too.
    server.ensure_doc("res-42");
    let ok = Client::connect_with(
        &format!("ws://{}/sync/res-42", server.addr()),
        ClientOptions {
            bearer_token: Some(other),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    ok.wait_synced(WAIT).await.unwrap();
}

/// Sends an edit from `who` and expects a denial naming `rule`; checks that
/// nobody else saw it and that the connection still works afterwards.
async fn denied(server: &TestServer, doc: &str, who: &Who, rule: &str, edit: impl Fn(&yrs::Doc)) {
    let witness = connect(server, doc, &Who::observer()).await;
    let before = all_texts(witness.doc());
    let c = connect(server, doc, who).await;
    c.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    expect_denial(&c, rule, |c| edit(c.doc())).await;
    assert!(!c.is_closed(), "the connection must stay usable");
    // A fresh client (from the store) sees nothing of it.
    let fresh = connect(server, doc, &Who::observer()).await;
    assert_eq!(
        all_texts(fresh.doc()),
        before,
        "a denied edit reached the document"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        all_texts(witness.doc()),
        before,
        "a denied edit was broadcast"
    );
}

async fn allowed(
    server: &TestServer,
    doc: &str,
    who: &Who,
    edit: impl Fn(&yrs::Doc),
    seen: impl Fn(&yrs::Doc) -> bool,
) {
    let c = connect(server, doc, who).await;
    c.wait_until(WAIT, |d| paragraph_count(d) >= 13)
        .await
        .unwrap();
    edit(c.doc());
    let witness = connect(server, doc, &Who::observer()).await;
    witness
        .wait_until(WAIT, seen)
        .await
        .unwrap_or_else(|e| panic!("allowed edit never arrived: {e}"));
    assert!(
        c.denials().is_empty(),
        "unexpected denial: {:?}",
        c.denials()
    );
}

#[tokio::test]
async fn the_matrix_over_websockets() {
    let server = server();
    let chair = seeded(&server, "m").await;
    // OP1 (index 5) agreed, OP2 (6) ad-ref, OP3 (7) bracketed.
    set_field(chair.doc(), 5, "status", "agreed");
    set_field(chair.doc(), 6, "status", "ad-ref");
    set_field(chair.doc(), 7, "status", "bracketed");
    let w = connect(&server, "m", &Who::observer()).await;
    w.wait_until(WAIT, |d| {
        field(d, 7, "status").as_deref() == Some("bracketed")
    })
    .await
    .unwrap();

    // Delegates: open and bracketed text yes; ad-ref and agreed no.
    allowed(
        &server,
        "m",
        &Who::delegate("JPN"),
        |d| append(d, 8, " JPN-open"),
        |d| text_of(d, 8).ends_with(" JPN-open"),
    )
    .await;
    allowed(
        &server,
        "m",
        &Who::delegate("JPN"),
        |d| append(d, 7, " JPN-br"),
        |d| text_of(d, 7).ends_with(" JPN-br"),
    )
    .await;
    denied(
        &server,
        "m",
        &Who::delegate("JPN"),
        "delegate.agreed-paragraph",
        |d| append(d, 5, " nope"),
    )
    .await;
    denied(
        &server,
        "m",
        &Who::delegate("JPN"),
        "delegate.ad-ref-paragraph",
        |d| append(d, 6, " nope"),
    )
    .await;
    // Observers edit nothing.
    denied(&server, "m", &Who::observer(), "observer.read-only", |d| {
        append(d, 8, " nope")
    })
    .await;
    // Status, structure, metadata, mode: not for delegates.
    denied(
        &server,
        "m",
        &Who::delegate("JPN"),
        "status.chair-only",
        |d| set_field(d, 8, "status", "agreed"),
    )
    .await;
    denied(
        &server,
        "m",
        &Who::delegate("JPN"),
        "meta.chair-or-secretariat",
        |d| set_meta(d, "title", "Hijacked"),
    )
    .await;
    denied(
        &server,
        "m",
        &Who::delegate("JPN"),
        "mode.chair-only",
        |d| set_meta(d, "mode", "negotiation"),
    )
    .await;
    denied(
        &server,
        "m",
        &Who::delegate("JPN"),
        "structure.chair-only",
        |d| {
            let arr = paragraphs(d);
            let mut txn = yrs::Transact::transact_mut(d);
            yrs::Array::remove(&arr, &mut txn, 9);
        },
    )
    .await;
    // Secretariat: metadata and technical edits yes, agreed text and status no.
    allowed(
        &server,
        "m",
        &Who::secretariat(),
        |d| set_meta(d, "symbol", "E/CN.15/2021/L.4/Rev.2"),
        |d| meta_value(d, "symbol").as_deref() == Some("E/CN.15/2021/L.4/Rev.2"),
    )
    .await;
    allowed(
        &server,
        "m",
        &Who::secretariat(),
        |d| append(d, 6, " (tech)"),
        |d| text_of(d, 6).ends_with(" (tech)"),
    )
    .await;
    denied(
        &server,
        "m",
        &Who::secretariat(),
        "secretariat.agreed-paragraph",
        |d| append(d, 5, " nope"),
    )
    .await;
    denied(
        &server,
        "m",
        &Who::secretariat(),
        "status.chair-only",
        |d| set_field(d, 8, "status", "bracketed"),
    )
    .await;
    denied(&server, "m", &Who::secretariat(), "mode.chair-only", |d| {
        set_meta(d, "mode", "negotiation")
    })
    .await;
    // The chair edits agreed text and switches the mode.
    allowed(
        &server,
        "m",
        &Who::chair(),
        |d| append(d, 5, " (chair)"),
        |d| text_of(d, 5).ends_with(" (chair)"),
    )
    .await;
    allowed(
        &server,
        "m",
        &Who::chair(),
        |d| set_meta(d, "mode", "negotiation"),
        |d| meta_value(d, "mode").as_deref() == Some("negotiation"),
    )
    .await;
    // Negotiation mode: delegates may no longer edit open text.
    denied(
        &server,
        "m",
        &Who::delegate("JPN"),
        "delegate.negotiation-mode",
        |d| append(d, 8, " nope"),
    )
    .await;
}

#[tokio::test]
async fn proposals_delegates_propose_the_chair_decides() {
    let server = server();
    let chair_client = seeded(&server, "prop").await;
    set_meta(chair_client.doc(), "mode", "negotiation");
    let jpn = connect(&server, "prop", &Who::delegate("JPN")).await;
    jpn.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();

    // JPN proposes a replacement for OP1 with the doc crate's own operation,
    // applied to a mirror of its state and sent as a plain update.
    let proposal = plenary_doc::Proposal {
        id: String::new(),
        paragraph_id: Some(mirror_of(&jpn).paragraphs[5].id.clone()),
        footnote_id: None,
        after: None,
        action: plenary_doc::ProposalAction::Replace,
        text: "Encourages Member States to adopt national strategies;".into(),
        delegation: "JPN".into(),
        on_behalf_of: None,
        supporters: vec![],
        author: "Delegate of JPN".into(),
        created_at: 0,
        status: plenary_doc::ProposalStatus::Pending,
        decided_by: None,
        decided_at: None,
        base_text: mirror_of(&jpn).paragraphs[5]
            .text
            .iter()
            .map(|r| r.text.clone())
            .reduce(|a, b| a + &b),
        base_seq: None,
        kind: None,
        level: None,
    };
    let mut pid = String::new();
    via_mirror(&jpn, |m| {
        let (id, update) = m.add_proposal(&proposal).unwrap();
        pid = id;
        update
    });
    let has_proposal = |pid: String| {
        move |d: &yrs::Doc| {
            plenary_doc::ResolutionDoc::from_update(&state_of(d))
                .unwrap()
                .proposal(&pid)
                .is_some()
        }
    };
    chair_client
        .wait_until(WAIT, has_proposal(pid.clone()))
        .await
        .unwrap();
    assert!(jpn.denials().is_empty(), "{:?}", jpn.denials());

    // A delegate proposing in another delegation's name is refused, and so is
    // a delegate deciding a proposal.
    let fra = connect(&server, "prop", &Who::delegate("FRA")).await;
    fra.wait_until(WAIT, has_proposal(pid.clone()))
        .await
        .unwrap();
    let forged = plenary_doc::Proposal {
        delegation: "JPN".into(),
        ..proposal.clone()
    };
    expect_denial(&fra, "proposal.own-delegation", |c| {
        via_mirror(c, |m| m.add_proposal(&forged).unwrap().1)
    })
    .await;
    let fra = connect(&server, "prop", &Who::delegate("FRA")).await;
    fra.wait_until(WAIT, has_proposal(pid.clone()))
        .await
        .unwrap();
    expect_denial(&fra, "proposal.chair-decides", |c| {
        via_mirror(c, |m| m.decide_proposal(&pid, true, "FRA").unwrap())
    })
    .await;
    // The server reverted FRA's decision; once the chair has seen that (its
    // state holds FRA's structs, which reach it only in the net change),
    // both documents are the same.
    converged(&fra, &chair_client).await;
    assert_eq!(
        mirror_of(&fra).proposals,
        mirror_of(&chair_client).proposals
    );

    // Even the chair's client may not write a decision: decisions go through the server.
    expect_denial(&chair_client, "proposals.decided-on-server", |c| {
        via_mirror(c, |m| m.decide_proposal(&pid, true, "Chair").unwrap())
    })
    .await;
    converged(&fra, &chair_client).await;
    assert_eq!(
        mirror_of(&chair_client)
            .proposals
            .iter()
            .find(|p| p.id == pid)
            .map(|p| p.status),
        Some(plenary_doc::ProposalStatus::Pending)
    );

    // The chair's decision through the server goes through and changes the text.
    let status = server.post_json(
        &format!("/api/docs/prop/proposals/{pid}/decision"),
        r#"{"decision":"accept"}"#,
        &Who::chair().token(),
    );
    assert_eq!(status, 200);
    jpn.wait_until(WAIT, |d| {
        text_of(d, 5) == "Encourages Member States to adopt national strategies;"
    })
    .await
    .unwrap();
}

/// Edits `client`'s document through a `ResolutionDoc` mirror of it, as a
/// client built on the doc crate would, and sends the resulting update.
fn via_mirror(client: &Client, op: impl FnOnce(&mut plenary_doc::ResolutionDoc) -> Vec<u8>) {
    let mut mirror = plenary_doc::ResolutionDoc::from_update(&state_of(client.doc())).unwrap();
    let update = op(&mut mirror);
    let u = <yrs::Update as yrs::updates::decoder::Decode>::decode_v1(&update).unwrap();
    yrs::Transact::transact_mut(client.doc())
        .apply_update(u)
        .unwrap();
}

fn mirror_of(client: &Client) -> plenary_doc::Resolution {
    plenary_doc::ResolutionDoc::from_update(&state_of(client.doc()))
        .unwrap()
        .resolution()
}

#[tokio::test]
async fn footnotes_sponsors_support_and_withdrawal() {
    let server = server();
    let chair = seeded(&server, "rows").await;
    let footnote_text = |r: &plenary_doc::Resolution| {
        r.footnotes[0]
            .text
            .iter()
            .map(|x| x.text.as_str())
            .collect::<String>()
    };

    // Footnotes: the secretariat yes, a delegate no.
    let sec = connect(&server, "rows", &Who::secretariat()).await;
    via_mirror(&sec, |m| {
        let id = m.resolution().footnotes[0].id.clone();
        m.set_footnote_text(&id, &[plenary_doc::Run::plain("A/CONF.234/16, corrected.")])
            .unwrap()
    });
    chair
        .wait_until(WAIT, |d| {
            let r = plenary_doc::ResolutionDoc::from_update(&state_of(d))
                .unwrap()
                .resolution();
            footnote_text(&r) == "A/CONF.234/16, corrected."
        })
        .await
        .unwrap();
    let jpn = connect(&server, "rows", &Who::delegate("JPN")).await;
    jpn.wait_until(WAIT, |d| paragraph_count(d) == 13)
        .await
        .unwrap();
    expect_denial(&jpn, "footnote.chair-or-secretariat", |c| {
        via_mirror(c, |m| {
            let id = m.resolution().footnotes[0].id.clone();
            m.set_footnote_text(&id, &[plenary_doc::Run::plain("JPN footnote")])
                .unwrap()
        })
    })
    .await;

    // Co-sponsorship: in one's own name only.
    let jpn = connect(&server, "rows", &Who::delegate("JPN")).await;
    via_mirror(&jpn, |m| {
        m.add_sponsor(&plenary_doc::Sponsor {
            delegation: "JPN".into(),
            signed_by: "Delegate of JPN".into(),
            at: 1,
        })
        .unwrap()
    });
    chair
        .wait_until(WAIT, |d| {
            let r = plenary_doc::ResolutionDoc::from_update(&state_of(d))
                .unwrap()
                .resolution();
            r.sponsors.iter().any(|s| s.delegation == "JPN")
        })
        .await
        .unwrap();
    assert!(jpn.denials().is_empty(), "{:?}", jpn.denials());
    let fra = connect(&server, "rows", &Who::delegate("FRA")).await;
    expect_denial(&fra, "cosponsor.own-delegation", |c| {
        via_mirror(c, |m| {
            m.add_sponsor(&plenary_doc::Sponsor {
                delegation: "DEU".into(),
                signed_by: "FRA".into(),
                at: 1,
            })
            .unwrap()
        })
    })
    .await;

    // A JPN proposal: FRA supports it in its own name (yes) and in DEU's (no);
    // FRA may not withdraw it; JPN may.
    let jpn = connect(&server, "rows", &Who::delegate("JPN")).await;
    let mut pid = String::new();
    via_mirror(&jpn, |m| {
        let op1 = m.resolution().paragraphs[5].id.clone();
        let (id, u) = m
            .add_proposal(&plenary_doc::Proposal {
                id: String::new(),
                paragraph_id: Some(op1),
                footnote_id: None,
                after: None,
                action: plenary_doc::ProposalAction::Delete,
                text: String::new(),
                delegation: "JPN".into(),
                on_behalf_of: None,
                supporters: vec![],
                author: "Delegate of JPN".into(),
                created_at: 1,
                status: plenary_doc::ProposalStatus::Pending,
                decided_by: None,
                decided_at: None,
                base_text: None,
                base_seq: None,
                kind: None,
                level: None,
            })
            .unwrap();
        pid = id;
        u
    });
    let fra = connect(&server, "rows", &Who::delegate("FRA")).await;
    let pid2 = pid.clone();
    fra.wait_until(WAIT, move |d| {
        plenary_doc::ResolutionDoc::from_update(&state_of(d))
            .unwrap()
            .proposal(&pid2)
            .is_some()
    })
    .await
    .unwrap();
    via_mirror(&fra, |m| m.support_proposal(&pid, "FRA").unwrap());
    let pid3 = pid.clone();
    chair
        .wait_until(WAIT, move |d| {
            plenary_doc::ResolutionDoc::from_update(&state_of(d))
                .unwrap()
                .proposal(&pid3)
                .is_some_and(|p| p.supporters.contains(&"FRA".to_string()))
        })
        .await
        .unwrap();
    let fra = connect(&server, "rows", &Who::delegate("FRA")).await;
    fra.wait_until(WAIT, mirror_doc_has_supporter)
        .await
        .unwrap();
    expect_denial(&fra, "support.own-delegation", |c| {
        via_mirror(c, |m| m.support_proposal(&pid, "DEU").unwrap())
    })
    .await;
    let fra = connect(&server, "rows", &Who::delegate("FRA")).await;
    fra.wait_until(WAIT, mirror_doc_has_supporter)
        .await
        .unwrap();
    expect_denial(&fra, "proposal.own-delegation", |c| {
        via_mirror(c, |m| m.withdraw_proposal(&pid).unwrap())
    })
    .await;
    let jpn = connect(&server, "rows", &Who::delegate("JPN")).await;
    jpn.wait_until(WAIT, mirror_doc_has_supporter)
        .await
        .unwrap();
    via_mirror(&jpn, |m| m.withdraw_proposal(&pid).unwrap());
    chair
        .wait_until(WAIT, |_| {
            mirror_of(&chair)
                .proposals
                .iter()
                .any(|p| p.status == plenary_doc::ProposalStatus::Withdrawn)
        })
        .await
        .unwrap();
    assert!(jpn.denials().is_empty(), "{:?}", jpn.denials());
}

fn mirror_doc_has_supporter(d: &yrs::Doc) -> bool {
    plenary_doc::ResolutionDoc::from_update(&state_of(d))
        .unwrap()
        .resolution()
        .proposals
        .iter()
        .any(|p| p.supporters.contains(&"FRA".to_string()))
}

/// A room drops its effect index after `--index-quiet-secs` without an update and rebuilds it
/// for the next one: after each quiet spell, a delegate is still refused in an agreed paragraph
/// and still allowed in an open one.
#[tokio::test]
async fn a_room_gone_quiet_judges_edits_as_before() {
    let server = server_with(&["--index-quiet-secs", "1"]);
    let chair = seeded(&server, "q").await;
    set_field(chair.doc(), 5, "status", "agreed");
    let w = connect(&server, "q", &Who::observer()).await;
    w.wait_until(WAIT, |d| field(d, 5, "status").as_deref() == Some("agreed"))
        .await
        .unwrap();
    for round in 0..2 {
        // (the real clock: the room's timer runs in the server's process)
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        denied(
            &server,
            "q",
            &Who::delegate("JPN"),
            "delegate.agreed-paragraph",
            |d| append(d, 5, " nope"),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let mark = format!(" JPN-{round}");
        allowed(
            &server,
            "q",
            &Who::delegate("JPN"),
            |d| append(d, 8, &mark),
            |d| text_of(d, 8).ends_with(&mark),
        )
        .await;
    }
}
