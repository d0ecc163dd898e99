//! Unit tests of `secrets`.

use super::*;

const TOKEN: &str = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJ.plaintext";

fn token() -> SecretString {
    SecretString::from(TOKEN)
}

fn sealer(byte: u8) -> Sealer {
    Sealer::new([byte; 32], [])
}

#[test]
fn a_sealed_value_opens_to_the_original() {
    let sealer = sealer(1);
    let id = Uuid::new_v4();
    let sealed = sealer
        .seal(id, Purpose::AdminRefreshToken, &token())
        .unwrap();
    let opened = sealer
        .open(id, Purpose::AdminRefreshToken, &sealed)
        .unwrap();
    assert_eq!(opened.expose_secret(), TOKEN);
}

#[test]
fn the_sealed_form_contains_no_plaintext_and_differs_each_time() {
    let sealer = sealer(1);
    let id = Uuid::new_v4();
    let a = sealer
        .seal(id, Purpose::AdminRefreshToken, &token())
        .unwrap();
    let b = sealer
        .seal(id, Purpose::AdminRefreshToken, &token())
        .unwrap();
    assert_ne!(a, b, "a fresh nonce each time");
    assert!(
        !a.windows(8)
            .any(|w| TOKEN.as_bytes().windows(8).any(|t| t == w))
    );
    assert_eq!(a[0], VERSION_1);
    assert_eq!(hex(&a[1..9]), sealer.key_id());
}

#[test]
fn a_different_key_does_not_open_it() {
    let id = Uuid::new_v4();
    let sealed = sealer(1)
        .seal(id, Purpose::AdminRefreshToken, &token())
        .unwrap();
    let error = sealer(2)
        .open(id, Purpose::AdminRefreshToken, &sealed)
        .unwrap_err();
    assert!(matches!(error, SealError::UnknownKey(_)), "{error:?}");
}

#[test]
fn a_forged_key_id_does_not_open_it_either() {
    let id = Uuid::new_v4();
    let mut sealed = sealer(1)
        .seal(id, Purpose::AdminRefreshToken, &token())
        .unwrap();
    let other = sealer(2);
    sealed[1..9].copy_from_slice(&other.current.id);
    let error = other
        .open(id, Purpose::AdminRefreshToken, &sealed)
        .unwrap_err();
    assert_eq!(error, SealError::Unauthentic);
}

#[test]
fn a_value_moved_to_another_connection_does_not_open() {
    let sealer = sealer(1);
    let sealed = sealer
        .seal(Uuid::new_v4(), Purpose::AdminRefreshToken, &token())
        .unwrap();
    let error = sealer
        .open(Uuid::new_v4(), Purpose::AdminRefreshToken, &sealed)
        .unwrap_err();
    assert_eq!(error, SealError::Unauthentic);
}

#[test]
fn a_value_moved_to_another_purpose_does_not_open() {
    let sealer = sealer(1);
    let id = Uuid::new_v4();
    let sealed = sealer
        .seal(id, Purpose::AdminRefreshToken, &token())
        .unwrap();
    let error = sealer
        .open(id, Purpose::ConsumerSecret, &sealed)
        .unwrap_err();
    assert_eq!(error, SealError::Unauthentic);
}

#[test]
fn any_altered_byte_is_detected() {
    let sealer = sealer(1);
    let id = Uuid::new_v4();
    let sealed = sealer.seal(id, Purpose::ConsumerSecret, &token()).unwrap();
    for index in 0..sealed.len() {
        let mut tampered = sealed.clone();
        tampered[index] ^= 0x01;
        assert!(
            sealer.open(id, Purpose::ConsumerSecret, &tampered).is_err(),
            "flipping byte {index} went unnoticed"
        );
    }
}

#[test]
fn truncated_or_unknown_formats_are_malformed() {
    let sealer = sealer(1);
    let id = Uuid::new_v4();
    assert_eq!(
        sealer.open(id, Purpose::ConsumerSecret, &[]).unwrap_err(),
        SealError::Malformed
    );
    let mut sealed = sealer.seal(id, Purpose::ConsumerSecret, &token()).unwrap();
    sealed[0] = 9;
    assert_eq!(
        sealer
            .open(id, Purpose::ConsumerSecret, &sealed)
            .unwrap_err(),
        SealError::Malformed
    );
}

#[test]
fn a_previous_key_still_opens_and_asks_for_a_reseal() {
    let id = Uuid::new_v4();
    let old = sealer(1);
    let sealed = old.seal(id, Purpose::AdminRefreshToken, &token()).unwrap();
    let rotated = Sealer::new([2; 32], [[1; 32]]);
    assert!(rotated.needs_reseal(&sealed));
    assert!(!old.needs_reseal(&sealed));
    let opened = rotated
        .open(id, Purpose::AdminRefreshToken, &sealed)
        .unwrap();
    assert_eq!(opened.expose_secret(), TOKEN);
    let resealed = rotated
        .seal(id, Purpose::AdminRefreshToken, &opened)
        .unwrap();
    assert!(!rotated.needs_reseal(&resealed));
}

#[test]
fn debug_shows_key_ids_and_nothing_secret() {
    let sealer = Sealer::new([7; 32], [[8; 32]]);
    let shown = format!("{sealer:?}");
    assert!(shown.contains(&sealer.key_id()), "{shown}");
    assert!(!shown.contains("7, 7"), "{shown}");
    assert!(!shown.contains("0707"), "{shown}");
}

#[test]
fn key_ids_differ_between_keys_and_are_stable() {
    assert_eq!(sealer(1).key_id(), sealer(1).key_id());
    assert_ne!(sealer(1).key_id(), sealer(2).key_id());
    assert_eq!(sealer(1).key_id().len(), 16);
}

#[test]
fn a_value_sealed_for_one_tenant_does_not_open_for_another() {
    let sealer = sealer(1);
    let id = Uuid::new_v4();
    let sealed = sealer
        .seal(Owner::new(id, "acme"), Purpose::AdminRefreshToken, &token())
        .unwrap();
    assert_eq!(sealed[0], VERSION_2);
    let opened = sealer
        .open(Owner::new(id, "acme"), Purpose::AdminRefreshToken, &sealed)
        .unwrap();
    assert_eq!(opened.expose_secret(), TOKEN);
    for other in [
        Owner::new(id, "globex"),
        Owner::new(id, "acm"),
        Owner::from(id),
    ] {
        let error = sealer
            .open(other, Purpose::AdminRefreshToken, &sealed)
            .unwrap_err();
        assert_eq!(error, SealError::Unauthentic, "{other:?}");
    }
}

#[test]
fn a_tenant_bound_value_relabelled_as_format_1_does_not_open() {
    let sealer = sealer(1);
    let id = Uuid::new_v4();
    let mut sealed = sealer
        .seal(Owner::new(id, "acme"), Purpose::AdminRefreshToken, &token())
        .unwrap();
    sealed[0] = VERSION_1;
    for owner in [Owner::new(id, "acme"), Owner::from(id)] {
        let error = sealer
            .open(owner, Purpose::AdminRefreshToken, &sealed)
            .unwrap_err();
        assert_eq!(error, SealError::Unauthentic);
    }
}

#[test]
fn a_value_sealed_before_tenants_were_bound_still_opens_and_asks_to_be_resealed() {
    let sealer = sealer(1);
    let id = Uuid::new_v4();
    let old = sealer
        .seal(id, Purpose::AdminRefreshToken, &token())
        .unwrap();
    assert!(!sealer.needs_reseal(&old));
    assert!(sealer.needs_reseal_for_tenant(&old));
    let opened = sealer
        .open(Owner::new(id, "acme"), Purpose::AdminRefreshToken, &old)
        .unwrap();
    let resealed = sealer
        .seal(Owner::new(id, "acme"), Purpose::AdminRefreshToken, &opened)
        .unwrap();
    assert!(!sealer.needs_reseal_for_tenant(&resealed));
    assert!(Sealer::new([2; 32], [[1; 32]]).needs_reseal_for_tenant(&resealed));
}
