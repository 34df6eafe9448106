//! Conversions at the edge: domain values into `roster.v1` messages, and `roster.v1`
//! requests into the domain's raw inputs (which the use cases validate).
//!
//! Only wire concerns are decided here: proto3's empty string standing for "not given",
//! the AIP-134 field-mask semantics of the `Update*` calls, and ids that are not UUIDs.

use std::str::FromStr;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use prost_types::{FieldMask, Timestamp};
use roster_domain::ids::InvalidId;
use roster_domain::organization::{OrgStatus, OrgSummary, Organization};
use roster_domain::organization_input::{CreateOrganizationInput, UpdateOrganizationInput};
use roster_domain::page::PageSize;
use roster_domain::service::BatchOutcome;
use roster_domain::user::{User, UserStatus, UserView};
use roster_domain::user_input::{CreateUserInput, ListUsersInput, UpdateUserInput};
use roster_domain::validation::Validator;

use crate::pb;

// ---------------------------------------------------------------------------------------
// Domain → wire

/// A protobuf timestamp.
pub(crate) fn timestamp(at: DateTime<Utc>) -> Timestamp {
    SystemTime::from(at).into()
}

/// An organization as `roster.v1.Organization`.
pub(crate) fn organization(org: Organization) -> pb::Organization {
    let status = match org.status {
        OrgStatus::Active => pb::OrganizationStatus::Active,
        OrgStatus::Deleted => pb::OrganizationStatus::Deleted,
    };
    pb::Organization {
        id: org.id.to_string(),
        slug: org.slug.as_str().to_owned(),
        name: org.name.as_str().to_owned(),
        domain: org.domain.map(|d| d.as_str().to_owned()),
        description: org.description.map(|d| d.as_str().to_owned()),
        logo_url: org.logo_url.map(|u| u.as_str().to_owned()),
        icon_url: org.icon_url.map(|u| u.as_str().to_owned()),
        parent_id: org.parent_id.map(|id| id.to_string()),
        seat_limit: org.seat_limit,
        default_role_id: org.default_role_id.to_string(),
        invitation_ttl_seconds: org.invitation_ttl.num_seconds(),
        status: status.into(),
        created_by: org.created_by,
        modified_by: org.modified_by,
        created_at: Some(timestamp(org.created_at)),
        updated_at: Some(timestamp(org.updated_at)),
        version: org.version,
        partner: org.partner,
        default_login_url: org.default_login_url.map(|u| u.as_str().to_owned()),
    }
}

/// The organization summary embedded in a user.
pub(crate) fn organization_summary(summary: &OrgSummary) -> pb::OrganizationSummary {
    pb::OrganizationSummary {
        id: summary.id.to_string(),
        slug: summary.slug.as_str().to_owned(),
        name: summary.name.as_str().to_owned(),
    }
}

/// A user with its organization as `roster.v1.User`.
pub(crate) fn user_view(view: UserView) -> pb::User {
    user(view.user, organization_summary(&view.organization))
}

/// A user as `roster.v1.User`, with the summary of its organization.
pub(crate) fn user(user: User, organization: pb::OrganizationSummary) -> pb::User {
    let status = match user.status {
        UserStatus::Invited => pb::UserStatus::Invited,
        UserStatus::Active => pb::UserStatus::Active,
        UserStatus::Suspended => pb::UserStatus::Suspended,
        // Deleted users are hidden from every read, so this is never sent.
        UserStatus::Deleted => pb::UserStatus::Unspecified,
    };
    pb::User {
        id: user.id.to_string(),
        organization_id: user.org_id.to_string(),
        email: user.email.as_str().to_owned(),
        username: user.username.as_str().to_owned(),
        name: user.name.as_str().to_owned(),
        first_name: user.first_name.map(|n| n.as_str().to_owned()),
        last_name: user.last_name.map(|n| n.as_str().to_owned()),
        location: user.location.map(|l| l.as_str().to_owned()),
        locale: user.locale.map(|l| l.as_str().to_owned()),
        tags: user.tags.to_strings(),
        metadata: user.metadata.as_map().clone(),
        status: status.into(),
        role_ids: user.role_ids.iter().map(ToString::to_string).collect(),
        last_login_at: user.last_login_at.map(timestamp),
        created_at: Some(timestamp(user.created_at)),
        updated_at: Some(timestamp(user.updated_at)),
        version: user.version,
        organization: Some(organization),
    }
}

/// What a batch delete did to one user.
pub(crate) fn batch_outcome(outcome: BatchOutcome) -> pb::BatchDeleteOutcome {
    match outcome {
        BatchOutcome::Deleted => pb::BatchDeleteOutcome::Deleted,
        BatchOutcome::NotFound => pb::BatchDeleteOutcome::NotFound,
    }
}

// ---------------------------------------------------------------------------------------
// Wire → domain

/// An id field: empty is `required`, anything but a UUID is `invalid_id`.
pub(crate) fn id<T: FromStr<Err = InvalidId>>(v: &mut Validator, field: &str, raw: &str) -> Option<T> {
    if raw.is_empty() {
        v.missing(field);
        return None;
    }
    v.check(field, raw.parse::<T>())
}

/// `page_size`: zero means the default.
pub(crate) fn page_size(v: &mut Validator, raw: i32) -> Option<PageSize> {
    if raw == 0 {
        return Some(PageSize::DEFAULT);
    }
    v.check("page_size", PageSize::new(i64::from(raw)))
}

/// `page_token`: empty means the first page; otherwise the domain's cursor.
pub(crate) fn page_token(raw: String) -> Option<String> {
    non_empty(raw)
}

/// The gRPC name of a list parameter the domain names after its REST spelling.
pub(crate) fn list_field(domain_field: &str) -> String {
    match domain_field {
        "cursor" => "page_token".to_owned(),
        "limit" => "page_size".to_owned(),
        other => other.to_owned(),
    }
}

/// A protobuf timestamp as a time, or `invalid` on `field` when it is out of range (nanos
/// outside 0..1e9, or a date chrono cannot represent).
pub(crate) fn time(v: &mut Validator, field: &str, at: Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(at.nanos).ok().filter(|n| *n < 1_000_000_000);
    let time = nanos.and_then(|nanos| DateTime::from_timestamp(at.seconds, nanos));
    if time.is_none() {
        v.push(field, "invalid", format!("{field} is not a valid timestamp"));
    }
    time
}

/// An optional id field (`optional string` in the contract): unset is `None`, set must be
/// a UUID.
pub(crate) fn optional_id<T: FromStr<Err = InvalidId>>(
    v: &mut Validator,
    field: &str,
    raw: Option<&str>,
) -> Option<Option<T>> {
    match raw {
        None => Some(None),
        Some(raw) => id(v, field, raw).map(Some),
    }
}

/// proto3 cannot tell an unset `string` from an empty one: both mean "not given".
pub(crate) fn non_empty(raw: String) -> Option<String> {
    (!raw.is_empty()).then_some(raw)
}

/// `CreateOrganization`'s fields as the domain's raw input.
pub(crate) fn create_organization_input(req: pb::CreateOrganizationRequest) -> CreateOrganizationInput {
    CreateOrganizationInput {
        slug: non_empty(req.slug),
        name: non_empty(req.name),
        domain: req.domain,
        description: req.description,
        logo_url: req.logo_url,
        icon_url: req.icon_url,
        parent_id: req.parent_id,
        seat_limit: req.seat_limit.map(i64::from),
        default_role: req.default_role,
        invitation_ttl_seconds: req.invitation_ttl_seconds,
        partner: req.partner,
        default_login_url: req.default_login_url,
    }
}

/// `CreateUser`'s fields (but the organization id) as the domain's raw input.
pub(crate) fn create_user_input(req: pb::CreateUserRequest) -> CreateUserInput {
    CreateUserInput {
        email: non_empty(req.email),
        password: req.password,
        generate_password: req.generate_password,
        username: req.username,
        name: req.name,
        first_name: req.first_name,
        last_name: req.last_name,
        location: req.location,
        locale: req.locale,
        tags: (!req.tags.is_empty()).then_some(req.tags),
        metadata: (!req.metadata.is_empty()).then_some(req.metadata),
        role_ids: (!req.role_ids.is_empty()).then_some(req.role_ids),
        role: req.role,
        login_url: req.login_url,
    }
}

/// `ListUsers`' filters and page as the domain's raw input; `limit` was checked by
/// [`page_size`].
pub(crate) fn list_users_input(limit: PageSize, req: pb::ListUsersRequest) -> ListUsersInput {
    ListUsersInput {
        limit: Some(i64::from(limit.get())),
        cursor: page_token(req.page_token),
        email: req.email,
        q: req.q,
        status: req.status,
        role_id: req.role_id,
        tag: req.tag,
        sort: req.sort,
    }
}

// ---------------------------------------------------------------------------------------
// Field masks (AIP-134)

/// The patch fields an update applies. With a non-empty `update_mask`, exactly its paths
/// (each must name a field of the patch message, else `update_mask` is invalid); with an
/// absent or empty one, every field that is set in the patch (lists and maps: non-empty),
/// so nothing is cleared without naming it.
pub(crate) fn masked<'f>(v: &mut Validator, mask: Option<FieldMask>, fields: &[(&'f str, bool)]) -> Vec<&'f str> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        return fields.iter().filter(|(_, set)| *set).map(|(name, _)| *name).collect();
    }
    let mut selected = Vec::with_capacity(paths.len());
    for path in paths {
        match fields.iter().find(|(name, _)| *name == path) {
            Some((name, _)) if !selected.contains(name) => selected.push(*name),
            Some(_) => {}
            None => v.push("update_mask", "unknown_path", format!("{path:?} is not a field that can be updated")),
        }
    }
    selected
}

/// A masked field that cannot be cleared must carry a value.
pub(crate) fn keep<T>(v: &mut Validator, message: &str, field: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        v.push(
            &format!("{message}.{field}"),
            "required",
            format!("{field} cannot be cleared: give a value or leave it out of update_mask"),
        );
    }
    value
}

/// `UpdateOrganization`'s patch and mask as the domain's raw input; mask problems are
/// recorded in `v` under `update_mask` or `organization.<field>`.
pub(crate) fn update_organization_input(
    v: &mut Validator,
    patch: Option<pb::OrganizationPatch>,
    mask: Option<FieldMask>,
) -> UpdateOrganizationInput {
    let p = patch.unwrap_or_default();
    let selected = masked(
        v,
        mask,
        &[
            ("slug", p.slug.is_some()),
            ("name", p.name.is_some()),
            ("domain", p.domain.is_some()),
            ("description", p.description.is_some()),
            ("logo_url", p.logo_url.is_some()),
            ("icon_url", p.icon_url.is_some()),
            ("parent_id", p.parent_id.is_some()),
            ("seat_limit", p.seat_limit.is_some()),
            ("default_role_id", p.default_role_id.is_some()),
            ("invitation_ttl_seconds", p.invitation_ttl_seconds.is_some()),
            ("partner", p.partner.is_some()),
            ("default_login_url", p.default_login_url.is_some()),
        ],
    );
    let on = |field: &str| selected.contains(&field);
    let mut input = UpdateOrganizationInput::default();
    if on("slug") {
        input.slug = keep(v, "organization", "slug", p.slug);
    }
    if on("name") {
        input.name = keep(v, "organization", "name", p.name);
    }
    if on("domain") {
        input.domain = Some(p.domain);
    }
    if on("description") {
        input.description = Some(p.description);
    }
    if on("logo_url") {
        input.logo_url = Some(p.logo_url);
    }
    if on("icon_url") {
        input.icon_url = Some(p.icon_url);
    }
    if on("parent_id") {
        v.push("organization.parent_id", "not_updatable", "parent_id cannot be changed once the organization exists");
    }
    if on("seat_limit") {
        input.seat_limit = Some(p.seat_limit.map(i64::from));
    }
    if on("default_role_id") {
        input.default_role_id = keep(v, "organization", "default_role_id", p.default_role_id);
    }
    if on("invitation_ttl_seconds") {
        input.invitation_ttl_seconds = keep(v, "organization", "invitation_ttl_seconds", p.invitation_ttl_seconds);
    }
    if on("partner") {
        input.partner = keep(v, "organization", "partner", p.partner);
    }
    if on("default_login_url") {
        input.default_login_url = Some(p.default_login_url);
    }
    input
}

/// `UpdateUser`'s patch and mask as the domain's raw input; mask problems are recorded in
/// `v` under `update_mask` or `user.<field>`.
pub(crate) fn update_user_input(
    v: &mut Validator,
    patch: Option<pb::UserPatch>,
    mask: Option<FieldMask>,
) -> UpdateUserInput {
    let p = patch.unwrap_or_default();
    let selected = masked(
        v,
        mask,
        &[
            ("email", p.email.is_some()),
            ("username", p.username.is_some()),
            ("name", p.name.is_some()),
            ("first_name", p.first_name.is_some()),
            ("last_name", p.last_name.is_some()),
            ("location", p.location.is_some()),
            ("locale", p.locale.is_some()),
            ("tags", !p.tags.is_empty()),
            ("metadata", !p.metadata.is_empty()),
            ("status", p.status.is_some()),
            ("role_ids", !p.role_ids.is_empty()),
            ("role", p.role.is_some()),
            ("password", p.password.is_some()),
        ],
    );
    let on = |field: &str| selected.contains(&field);
    let mut input = UpdateUserInput::default();
    if on("email") {
        input.email = keep(v, "user", "email", p.email);
    }
    if on("username") {
        input.username = keep(v, "user", "username", p.username);
    }
    if on("name") {
        input.name = keep(v, "user", "name", p.name);
    }
    if on("first_name") {
        input.first_name = Some(p.first_name);
    }
    if on("last_name") {
        input.last_name = Some(p.last_name);
    }
    if on("location") {
        input.location = Some(p.location);
    }
    if on("locale") {
        input.locale = Some(p.locale);
    }
    if on("tags") {
        input.tags = Some(p.tags);
    }
    if on("metadata") {
        input.metadata = Some(p.metadata);
    }
    if on("status") {
        input.status = keep(v, "user", "status", p.status.map(user_status_name));
    }
    if on("role_ids") {
        input.role_ids = Some(p.role_ids);
    }
    if on("role") {
        input.role = keep(v, "user", "role", p.role);
    }
    if on("password") {
        input.password = keep(v, "user", "password", p.password);
    }
    input
}

/// The domain's name for a wire status; the domain decides which it accepts.
fn user_status_name(raw: i32) -> String {
    match pb::UserStatus::try_from(raw) {
        Ok(pb::UserStatus::Invited) => UserStatus::Invited.as_str().to_owned(),
        Ok(pb::UserStatus::Active) => UserStatus::Active.as_str().to_owned(),
        Ok(pb::UserStatus::Suspended) => UserStatus::Suspended.as_str().to_owned(),
        Ok(pb::UserStatus::Unspecified) => "unspecified".to_owned(),
        Err(_) => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn mask(paths: &[&str]) -> Option<FieldMask> {
        Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
    }

    fn fields(v: Validator) -> Vec<String> {
        v.finish().err().map(|e| e.fields().iter().map(|f| f.field.clone()).collect()).unwrap_or_default()
    }

    #[test]
    fn only_masked_fields_are_applied_and_unset_nullable_ones_clear() {
        let patch = pb::OrganizationPatch {
            name: Some("Acme".into()),
            slug: Some("ignored".into()),
            seat_limit: Some(5),
            ..Default::default()
        };
        let mut v = Validator::default();
        let input = update_organization_input(&mut v, Some(patch), mask(&["name", "domain", "seat_limit"]));
        assert!(v.is_ok());
        assert_eq!(
            input,
            UpdateOrganizationInput {
                name: Some("Acme".into()),
                domain: Some(None),
                seat_limit: Some(Some(5)),
                ..Default::default()
            }
        );
    }

    #[test]
    fn without_a_mask_every_set_field_is_applied_and_nothing_cleared() {
        let patch = pb::UserPatch {
            locale: Some("de".into()),
            tags: vec!["vip".into()],
            status: Some(pb::UserStatus::Suspended.into()),
            ..Default::default()
        };
        let mut v = Validator::default();
        let input = update_user_input(&mut v, Some(patch), None);
        assert!(v.is_ok());
        assert_eq!(
            input,
            UpdateUserInput {
                locale: Some(Some("de".into())),
                tags: Some(vec!["vip".into()]),
                status: Some("suspended".into()),
                ..Default::default()
            }
        );
        let mut v = Validator::default();
        assert_eq!(update_user_input(&mut v, None, mask(&[])), UpdateUserInput::default());
        assert!(v.is_ok());
    }

    #[test]
    fn masked_lists_and_maps_replace_or_clear() {
        let mut v = Validator::default();
        let input = update_user_input(&mut v, None, mask(&["tags", "metadata", "first_name"]));
        assert!(v.is_ok());
        assert_eq!(input.tags, Some(vec![]));
        assert_eq!(input.metadata, Some(BTreeMap::new()));
        assert_eq!(input.first_name, Some(None));
    }

    #[test]
    fn unknown_paths_and_uncleared_required_fields_are_reported() {
        let mut v = Validator::default();
        update_user_input(&mut v, None, mask(&["nickname", "email", "user.name"]));
        assert_eq!(fields(v), ["update_mask", "update_mask", "user.email"]);
    }

    #[test]
    fn parent_id_cannot_be_updated() {
        let patch = pb::OrganizationPatch { parent_id: Some(uuid::Uuid::now_v7().to_string()), ..Default::default() };
        let mut v = Validator::default();
        update_organization_input(&mut v, Some(patch), None);
        assert_eq!(fields(v), ["organization.parent_id"]);
        let mut v = Validator::default();
        update_organization_input(&mut v, None, mask(&["parent_id", "slug"]));
        assert_eq!(fields(v), ["organization.slug", "organization.parent_id"]);
    }

    #[test]
    fn ids_must_be_given_and_be_uuids() {
        let mut v = Validator::default();
        assert_eq!(id::<roster_domain::ids::OrgId>(&mut v, "organization_id", ""), None);
        assert_eq!(id::<roster_domain::ids::UserId>(&mut v, "user_id", "42"), None);
        let codes: Vec<&str> = v.finish().unwrap_err().fields().iter().map(|f| f.code).collect();
        assert_eq!(codes, ["required", "invalid_id"]);
    }

    #[test]
    fn page_sizes_default_on_zero_and_are_bounded() {
        let mut v = Validator::default();
        assert_eq!(page_size(&mut v, 0), Some(PageSize::DEFAULT));
        assert_eq!(page_size(&mut v, 7).map(PageSize::get), Some(7));
        assert_eq!(page_size(&mut v, -1), None);
        assert_eq!(page_size(&mut v, 201), None);
        assert_eq!(fields(v), ["page_size", "page_size"]);
    }

    #[test]
    fn user_statuses_map_to_domain_names() {
        assert_eq!(user_status_name(pb::UserStatus::Active.into()), "active");
        assert_eq!(user_status_name(pb::UserStatus::Invited.into()), "invited");
        assert_eq!(user_status_name(0), "unspecified");
        assert_eq!(user_status_name(99), "99");
    }

    #[test]
    fn wire_timestamps_out_of_range_are_invalid() {
        let mut v = Validator::default();
        let at = time(&mut v, "since", Timestamp { seconds: 1_700_000_000, nanos: 5 });
        assert_eq!(at, DateTime::from_timestamp(1_700_000_000, 5));
        assert_eq!(time(&mut v, "until", Timestamp { seconds: 0, nanos: -1 }), None);
        assert_eq!(time(&mut v, "expires_at", Timestamp { seconds: i64::MAX, nanos: 0 }), None);
        assert_eq!(fields(v), ["until", "expires_at"]);
    }

    #[test]
    fn optional_ids_are_none_when_unset() {
        let mut v = Validator::default();
        assert_eq!(optional_id::<roster_domain::ids::UserId>(&mut v, "user_id", None), Some(None));
        assert_eq!(optional_id::<roster_domain::ids::UserId>(&mut v, "user_id", Some("x")), None);
        assert_eq!(fields(v), ["user_id"]);
    }

    #[test]
    fn partner_is_masked_like_any_field_and_cannot_be_cleared() {
        let mut v = Validator::default();
        let patch = pb::OrganizationPatch { partner: Some(true), ..Default::default() };
        let input = update_organization_input(&mut v, Some(patch), None);
        assert!(v.is_ok());
        assert_eq!(input.partner, Some(true));
        let mut v = Validator::default();
        update_organization_input(&mut v, None, mask(&["partner"]));
        assert_eq!(fields(v), ["organization.partner"]);
    }

    #[test]
    fn the_default_login_url_is_set_replaced_or_cleared_by_the_mask() {
        let url = "https://app.example.com/login";
        let patch = pb::OrganizationPatch { default_login_url: Some(url.into()), ..Default::default() };
        let mut v = Validator::default();
        let input = update_organization_input(&mut v, Some(patch), None);
        assert!(v.is_ok());
        assert_eq!(input.default_login_url, Some(Some(url.into())));
        let mut v = Validator::default();
        let input = update_organization_input(&mut v, None, mask(&["default_login_url"]));
        assert!(v.is_ok());
        assert_eq!(input.default_login_url, Some(None), "named but unset: cleared");
        let mut v = Validator::default();
        assert_eq!(update_organization_input(&mut v, None, None).default_login_url, None, "untouched");

        let create = pb::CreateOrganizationRequest { default_login_url: Some(url.into()), ..Default::default() };
        assert_eq!(create_organization_input(create).default_login_url.as_deref(), Some(url));
    }

    #[test]
    fn a_new_users_login_url_reaches_the_domain() {
        let req = pb::CreateUserRequest {
            email: "ada@example.com".into(),
            generate_password: true,
            login_url: Some("https://app.example.com/login".into()),
            ..Default::default()
        };
        let input = create_user_input(req);
        assert!(input.generate_password);
        assert_eq!(input.login_url.as_deref(), Some("https://app.example.com/login"));
        assert_eq!(create_user_input(pb::CreateUserRequest::default()).login_url, None);
    }

    #[test]
    fn timestamps_keep_sub_second_precision() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(timestamp(at), Timestamp { seconds: 1_700_000_000, nanos: 123_456_789 });
    }
}
