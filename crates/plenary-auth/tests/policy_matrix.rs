//! SPEC §1 as a table: every role × action (× mode × status), allowed and denied.

#![allow(clippy::unwrap_used)] // tests may unwrap (helper-common rules)

use std::collections::{BTreeSet, HashSet};

use plenary_auth::ParagraphStatus::{AdRef, Agreed, Bracketed, Open};
use plenary_auth::{
    Action, CommentScope, Decision, DocContext, DocMode, ParagraphStatus, Principal, Role,
    authorize,
};

/// The document contexts a row is checked in: (mode, observers_may_comment).
type Contexts = &'static [(DocMode, bool)];

/// Where a row applies. `*_OBS` = the document lets observers comment.
const OPEN: Contexts = &[(DocMode::Open, false)];
const NEG: Contexts = &[(DocMode::Negotiation, false)];
const ANY: Contexts = &[(DocMode::Open, false), (DocMode::Negotiation, false)];
const ANY_OBS: Contexts = &[(DocMode::Open, true), (DocMode::Negotiation, true)];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Allow,
    /// Allowed, to be logged with a reason (rule id).
    Reason(&'static str),
    /// Denied by this rule id.
    Deny(&'static str),
}
use Expect::{Allow, Deny, Reason};

fn principal(role: Role) -> Principal {
    let (sub, delegation, groups): (&str, Option<&str>, &[&str]) = match role {
        Role::Chair => ("chair-1", None, &["BUREAU"]),
        Role::Secretariat => ("sec-1", None, &[]),
        Role::Delegate => ("fra-1", Some("FRA"), &["EU"]),
        Role::Observer => ("icrc-1", Some("ICRC"), &[]),
    };
    Principal {
        sub: sub.into(),
        name: sub.into(),
        role,
        delegation: delegation.map(Into::into),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        docs: vec!["res-*".into()],
        expires_at: u64::MAX,
    }
}

fn text(status: ParagraphStatus) -> Action {
    Action::EditText { status }
}
fn meta(key: &str) -> Action {
    Action::EditMeta { key: key.into() }
}
fn status(from: ParagraphStatus, to: ParagraphStatus) -> Action {
    Action::SetParagraphStatus { from, to }
}
fn propose(d: &str) -> Action {
    Action::Propose {
        delegation: d.into(),
    }
}
fn support(d: &str) -> Action {
    Action::SupportProposal {
        supporter: d.into(),
    }
}
fn withdraw(d: &str) -> Action {
    Action::WithdrawProposal {
        proposal_delegation: d.into(),
    }
}
fn edit_prop(d: &str) -> Action {
    Action::EditProposal {
        proposal_delegation: d.into(),
    }
}
fn cosponsor(d: &str) -> Action {
    Action::Cosponsor {
        delegation: d.into(),
    }
}
fn public() -> CommentScope {
    CommentScope::Public
}
fn group(g: &str) -> CommentScope {
    CommentScope::Group(g.into())
}
fn deleg(d: &str) -> CommentScope {
    CommentScope::Delegation(d.into())
}
fn read(s: CommentScope) -> Action {
    Action::ReadComments { scope: s }
}
fn write(s: CommentScope) -> Action {
    Action::WriteComment { scope: s }
}
fn edit_comment(s: CommentScope, author: &str) -> Action {
    Action::EditComment {
        scope: s,
        author_sub: author.into(),
    }
}
fn resolve(s: CommentScope, author: &str) -> Action {
    Action::ResolveComment {
        scope: s,
        author_sub: author.into(),
    }
}

#[rustfmt::skip]
fn matrix() -> Vec<(Role, Contexts, Action, Expect)> {
    use Role::{Chair as C, Delegate as D, Observer as O, Secretariat as S};
    vec![
        // --- paragraph text: role × mode × status ---------------------------------------------
        (C, ANY,  text(Open),      Allow),
        (C, ANY,  text(Bracketed), Allow),
        (C, ANY,  text(AdRef),     Allow),
        (C, ANY,  text(Agreed),    Allow),
        (S, ANY,  text(Open),      Allow),
        (S, ANY,  text(Bracketed), Allow),
        (S, ANY,  text(AdRef),     Allow),
        (S, ANY,  text(Agreed),    Deny("secretariat.agreed-paragraph")),
        (D, OPEN, text(Open),      Allow),
        (D, OPEN, text(Bracketed), Allow),
        (D, OPEN, text(AdRef),     Deny("delegate.ad-ref-paragraph")),
        (D, OPEN, text(Agreed),    Deny("delegate.agreed-paragraph")),
        (D, NEG,  text(Open),      Deny("delegate.negotiation-mode")),
        (D, NEG,  text(Bracketed), Deny("delegate.negotiation-mode")),
        (D, NEG,  text(AdRef),     Deny("delegate.negotiation-mode")),
        (D, NEG,  text(Agreed),    Deny("delegate.negotiation-mode")),
        (O, ANY,  text(Open),      Deny("observer.read-only")),
        (O, ANY,  text(Agreed),    Deny("observer.read-only")),
        // --- footnotes, metadata, mode ----------------------------------------------------------
        (C, ANY, Action::EditFootnote, Allow),
        (S, ANY, Action::EditFootnote, Allow),
        (D, ANY, Action::EditFootnote, Deny("footnote.chair-or-secretariat")),
        (O, ANY, Action::EditFootnote, Deny("observer.read-only")),
        (C, ANY, meta("title"),        Allow),
        (S, ANY, meta("symbol"),       Allow),
        (D, ANY, meta("title"),        Deny("meta.chair-or-secretariat")),
        (O, ANY, meta("title"),        Deny("observer.read-only")),
        (C, ANY, meta("mode"),         Allow),
        (S, ANY, meta("mode"),         Deny("mode.chair-only")),
        (D, ANY, meta("mode"),         Deny("mode.chair-only")),
        (O, ANY, meta("mode"),         Deny("observer.read-only")),
        (C, ANY, Action::SetMode,      Allow),
        (S, ANY, Action::SetMode,      Deny("mode.chair-only")),
        (D, ANY, Action::SetMode,      Deny("mode.chair-only")),
        (O, ANY, Action::SetMode,      Deny("observer.read-only")),
        // --- structure ------------------------------------------------------------------------
        (C, ANY, Action::InsertParagraph,      Allow),
        (S, ANY, Action::InsertParagraph,      Deny("structure.chair-only")),
        (D, ANY, Action::InsertParagraph,      Deny("structure.chair-only")),
        (O, ANY, Action::InsertParagraph,      Deny("observer.read-only")),
        (C, ANY, Action::DeleteParagraph,      Allow),
        (S, ANY, Action::DeleteParagraph,      Deny("structure.chair-only")),
        (D, ANY, Action::DeleteParagraph,      Deny("structure.chair-only")),
        (O, ANY, Action::DeleteParagraph,      Deny("observer.read-only")),
        (C, ANY, Action::MoveParagraph,        Allow),
        (S, ANY, Action::MoveParagraph,        Deny("structure.chair-only")),
        (D, ANY, Action::MoveParagraph,        Deny("structure.chair-only")),
        (O, ANY, Action::MoveParagraph,        Deny("observer.read-only")),
        (C, ANY, Action::ChangeParagraphShape, Allow),
        (S, ANY, Action::ChangeParagraphShape, Deny("structure.chair-only")),
        (D, ANY, Action::ChangeParagraphShape, Deny("structure.chair-only")),
        (O, ANY, Action::ChangeParagraphShape, Deny("observer.read-only")),
        // --- paragraph status -----------------------------------------------------------------
        (C, ANY, status(Open, Bracketed),  Allow),
        (C, ANY, status(Bracketed, AdRef), Allow),
        (C, ANY, status(AdRef, Agreed),    Allow),
        (C, ANY, status(Agreed, Open),     Reason("status.reopen-agreed")),
        (C, ANY, status(Agreed, AdRef),    Reason("status.reopen-agreed")),
        (S, ANY, status(Open, Bracketed),  Deny("status.chair-only")),
        (S, ANY, status(AdRef, Agreed),    Deny("status.chair-only")),
        (D, ANY, status(Open, Agreed),     Deny("status.chair-only")),
        (D, ANY, status(Agreed, Open),     Deny("status.chair-only")),
        (O, ANY, status(Open, Bracketed),  Deny("observer.read-only")),
        // --- proposals: the delegate's own delegation, in either mode ---------------------------
        (D, ANY, propose("FRA"),   Allow),
        (D, ANY, propose("JPN"),   Deny("proposal.own-delegation")),
        (C, ANY, propose("Chair"), Allow),
        (C, ANY, propose("JPN"),   Deny("proposal.own-delegation")),
        (S, ANY, propose("Secretariat"), Deny("secretariat.no-proposals")),
        (O, ANY, propose("ICRC"),  Deny("observer.read-only")),
        (D, ANY, support("FRA"),   Allow),
        (D, ANY, support("JPN"),   Deny("support.own-delegation")),
        (C, ANY, support("Chair"), Allow),
        (S, ANY, support("Secretariat"), Deny("secretariat.no-proposals")),
        (O, ANY, support("ICRC"),  Deny("observer.read-only")),
        (D, ANY, withdraw("FRA"),  Allow),
        (D, ANY, withdraw("JPN"),  Deny("proposal.own-delegation")),
        (C, ANY, withdraw("Chair"), Allow),
        (C, ANY, withdraw("FRA"),  Deny("proposal.own-delegation")),
        (S, ANY, withdraw("FRA"),  Deny("secretariat.no-proposals")),
        (O, ANY, withdraw("ICRC"), Deny("observer.read-only")),
        (D, ANY, edit_prop("FRA"), Allow),
        (D, ANY, edit_prop("JPN"), Deny("proposal.own-delegation")),
        (C, ANY, edit_prop("Chair"), Allow),
        (C, ANY, edit_prop("FRA"), Deny("proposal.own-delegation")),
        (S, ANY, edit_prop("FRA"), Deny("secretariat.no-proposals")),
        (O, ANY, edit_prop("ICRC"), Deny("observer.read-only")),
        (C, ANY, Action::DecideProposal, Allow),
        (S, ANY, Action::DecideProposal, Deny("proposal.chair-decides")),
        (D, ANY, Action::DecideProposal, Deny("proposal.chair-decides")),
        (O, ANY, Action::DecideProposal, Deny("observer.read-only")),
        (D, ANY, cosponsor("FRA"), Allow),
        (D, ANY, cosponsor("JPN"), Deny("cosponsor.own-delegation")),
        (C, ANY, cosponsor("FRA"), Deny("cosponsor.own-delegation")),
        (S, ANY, cosponsor("FRA"), Deny("secretariat.no-proposals")),
        (O, ANY, cosponsor("ICRC"), Deny("observer.read-only")),
        // --- versions -------------------------------------------------------------------------
        (C, ANY, Action::NameVersion, Allow),
        (S, ANY, Action::NameVersion, Allow),
        (D, ANY, Action::NameVersion, Deny("version.chair-or-secretariat")),
        (O, ANY, Action::NameVersion, Deny("observer.read-only")),
        // --- comment scopes: membership from the token only, no master key --------------------
        (C, ANY, read(public()),        Allow),
        (C, ANY, read(group("BUREAU")), Allow),
        (C, ANY, read(group("EU")),     Deny("comments.scope")),
        (C, ANY, read(deleg("FRA")),    Deny("comments.scope")),
        (S, ANY, read(public()),        Allow),
        (S, ANY, read(group("EU")),     Deny("comments.scope")),
        (S, ANY, read(deleg("FRA")),    Deny("comments.scope")),
        (D, ANY, read(public()),        Allow),
        (D, ANY, read(group("EU")),     Allow),
        (D, ANY, read(deleg("FRA")),    Allow),
        (D, ANY, read(group("G77")),    Deny("comments.scope")),
        (D, ANY, read(deleg("JPN")),    Deny("comments.scope")),
        (O, ANY, read(public()),        Allow),
        (O, ANY, read(deleg("ICRC")),   Allow),
        (O, ANY, read(deleg("FRA")),    Deny("comments.scope")),
        (C, ANY, write(public()),       Allow),
        (S, ANY, write(public()),       Allow),
        (S, ANY, write(group("EU")),    Deny("comments.scope")),
        (D, ANY, write(group("EU")),    Allow),
        (D, ANY, write(deleg("FRA")),   Allow),
        (D, ANY, write(group("G77")),   Deny("comments.scope")),
        (O, ANY, write(public()),       Deny("comments.observers-disabled")),
        (O, ANY_OBS, write(public()),   Allow),
        (O, ANY_OBS, write(group("EU")), Deny("comments.scope")),
        (C, ANY, edit_comment(public(), "chair-1"), Allow),
        (C, ANY, edit_comment(public(), "fra-1"),   Deny("comments.own-only")),
        (S, ANY, edit_comment(public(), "sec-1"),   Allow),
        (S, ANY, edit_comment(public(), "fra-1"),   Deny("comments.own-only")),
        (D, ANY, edit_comment(group("EU"), "fra-1"), Allow),
        (D, ANY, edit_comment(public(), "jpn-1"),   Deny("comments.own-only")),
        (D, ANY, edit_comment(deleg("JPN"), "fra-1"), Deny("comments.scope")),
        (O, ANY, edit_comment(public(), "icrc-1"),  Deny("comments.observers-disabled")),
        (O, ANY_OBS, edit_comment(public(), "icrc-1"), Allow),
        (O, ANY_OBS, edit_comment(public(), "fra-1"),  Deny("comments.own-only")),
        (C, ANY, resolve(public(), "fra-1"),        Allow),
        (C, ANY, resolve(group("BUREAU"), "x-1"),   Allow),
        (C, ANY, resolve(group("EU"), "fra-1"),     Deny("comments.scope")),
        (S, ANY, resolve(public(), "fra-1"),        Allow),
        (S, ANY, resolve(deleg("FRA"), "fra-1"),    Deny("comments.scope")),
        (D, ANY, resolve(public(), "fra-1"),        Allow),
        (D, ANY, resolve(public(), "jpn-1"),        Deny("comments.resolve-own-only")),
        (D, ANY, resolve(group("G77"), "fra-1"),    Deny("comments.scope")),
        (O, ANY, resolve(public(), "icrc-1"),       Deny("comments.observers-disabled")),
        (O, ANY_OBS, resolve(public(), "icrc-1"),   Allow),
        (O, ANY_OBS, resolve(public(), "fra-1"),    Deny("comments.resolve-own-only")),
    ]
}

/// Exhaustive on purpose: a new `Action` variant does not compile until it is named here, and
/// `every_action_and_role_is_covered_both_ways` then demands rows for it.
fn variant(action: &Action) -> &'static str {
    match action {
        Action::EditText { .. } => "EditText",
        Action::EditFootnote => "EditFootnote",
        Action::EditMeta { .. } => "EditMeta",
        Action::SetMode => "SetMode",
        Action::InsertParagraph => "InsertParagraph",
        Action::DeleteParagraph => "DeleteParagraph",
        Action::MoveParagraph => "MoveParagraph",
        Action::SetParagraphStatus { .. } => "SetParagraphStatus",
        Action::ChangeParagraphShape => "ChangeParagraphShape",
        Action::Propose { .. } => "Propose",
        Action::SupportProposal { .. } => "SupportProposal",
        Action::WithdrawProposal { .. } => "WithdrawProposal",
        Action::EditProposal { .. } => "EditProposal",
        Action::DecideProposal => "DecideProposal",
        Action::Cosponsor { .. } => "Cosponsor",
        Action::NameVersion => "NameVersion",
        Action::ReadComments { .. } => "ReadComments",
        Action::WriteComment { .. } => "WriteComment",
        Action::EditComment { .. } => "EditComment",
        Action::ResolveComment { .. } => "ResolveComment",
    }
}

#[test]
fn the_matrix_holds_row_by_row() {
    let mut failures = Vec::new();
    for (role, contexts, action, expect) in matrix() {
        for &(mode, observers_may_comment) in contexts {
            let ctx = DocContext {
                mode,
                observers_may_comment,
            };
            let got = authorize(&principal(role), &action, &ctx);
            let ok = match (&got, expect) {
                (Decision::Allow, Allow) => true,
                (Decision::AllowWithReason { rule }, Reason(want)) => *rule == want,
                (Decision::Deny(denial), Deny(want)) => denial.rule == want,
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{role} {mode} {action:?}: expected {expect:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_action_and_role_is_covered_both_ways() {
    let rows = matrix();
    let mut allowed = HashSet::new();
    let mut denied = HashSet::new();
    let mut per_role = BTreeSet::new();
    for (role, _, action, expect) in &rows {
        let name = variant(action);
        per_role.insert((name, role.as_str()));
        match expect {
            Allow | Reason(_) => allowed.insert(name),
            Deny(_) => denied.insert(name),
        };
    }
    let names: BTreeSet<&str> = rows.iter().map(|(_, _, a, _)| variant(a)).collect();
    assert_eq!(names.len(), 20, "every Action variant has rows");
    for name in &names {
        assert!(
            allowed.contains(name) && denied.contains(name),
            "{name} must be tested allowed and denied"
        );
        for role in Role::ALL {
            assert!(
                per_role.contains(&(*name, role.as_str())),
                "{name} has no row for {role}"
            );
        }
    }
}

#[test]
fn denials_name_their_rule_and_say_why() {
    let ctx = DocContext {
        mode: DocMode::Open,
        observers_may_comment: false,
    };
    let decision = authorize(&principal(Role::Delegate), &text(Agreed), &ctx);
    let denial = decision.denial().expect("denied");
    let shown = denial.to_string();
    assert!(shown.contains("delegate.agreed-paragraph"), "{shown}");
    assert!(shown.contains("agreed"), "{shown}");
    assert!(!decision.is_allowed());

    let reopen = authorize(&principal(Role::Chair), &status(Agreed, Bracketed), &ctx);
    assert!(reopen.is_allowed() && reopen.needs_reason());
}

#[test]
fn a_delegate_without_delegation_cannot_propose_for_anyone() {
    // Verification refuses such tokens; the policy still fails closed if one is built by hand.
    let mut stray = principal(Role::Delegate);
    stray.delegation = None;
    let ctx = DocContext {
        mode: DocMode::Open,
        observers_may_comment: false,
    };
    assert!(!authorize(&stray, &propose("FRA"), &ctx).is_allowed());
    assert!(!authorize(&stray, &cosponsor("FRA"), &ctx).is_allowed());
    assert!(!authorize(&stray, &read(deleg("FRA")), &ctx).is_allowed());
}

#[test]
fn document_strings_map_to_the_enums() {
    for s in ParagraphStatus::ALL {
        assert_eq!(s.as_str().parse::<ParagraphStatus>(), Ok(s));
    }
    assert_eq!("ad-ref".parse::<ParagraphStatus>(), Ok(AdRef));
    assert!("adref".parse::<ParagraphStatus>().is_err());
    assert_eq!("negotiation".parse::<DocMode>(), Ok(DocMode::Negotiation));
    assert!("closed".parse::<DocMode>().is_err());
}
