//! Raw user requests as front ends receive them, and their validation into commands.

use std::collections::BTreeMap;

use crate::ids::{RoleId, UserId};
use crate::organization_input::{nullable, required};
use crate::role::RoleKey;
use crate::user::{UserFilter, UserSort, UserStatus, derive_display_name};
use crate::validation::{FieldProblem, ValidationErrors, Validator};
use crate::values::{
    DisplayName, Email, HttpUrl, Locale, Location, Metadata, NamePart, Password, PasswordPolicy, Tag, Tags, Username,
};

/// The most ids one batch delete may name.
pub const MAX_BATCH: usize = 100;

/// A request to create a user, field by field as the caller sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateUserInput {
    /// Required.
    pub email: Option<String>,
    /// A password: the user is created `active`.
    pub password: Option<String>,
    /// Generate a password, returned once: the user is created `active`.
    pub generate_password: bool,
    /// Generated from the email when absent.
    pub username: Option<String>,
    /// Display name; derived from first and last name when absent (one of them is required).
    pub name: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Location.
    pub location: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Metadata.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Role ids (at least one when given).
    pub role_ids: Option<Vec<String>>,
    /// Legacy: a single role key. Not together with `role_ids`.
    pub role: Option<String>,
    /// Where the new user signs in: linked from the invitation or credentials email
    /// (the organization's default login URL when absent).
    pub login_url: Option<String>,
}

/// How a new user's password is set.
#[derive(Clone, Debug)]
pub enum Credential {
    /// The caller chose it.
    Password(Password),
    /// Roster generates one and returns it once.
    Generate,
    /// None yet: the user is invited.
    Invite,
}

/// Which roles a request asks for (rule 4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RoleChoice {
    /// These role ids, at least one.
    Ids(Vec<RoleId>),
    /// The legacy single role, by key.
    Key(RoleKey),
    /// Nothing asked: the organization's default role (on create) or unchanged (on update).
    #[default]
    Unspecified,
}

/// A validated [`CreateUserInput`].
#[derive(Clone, Debug)]
pub struct CreateUser {
    /// Email.
    pub email: Email,
    /// How the password is set.
    pub credential: Credential,
    /// Username, if given.
    pub username: Option<Username>,
    /// Display name.
    pub name: DisplayName,
    /// First name.
    pub first_name: Option<NamePart>,
    /// Last name.
    pub last_name: Option<NamePart>,
    /// Location.
    pub location: Option<Location>,
    /// Locale.
    pub locale: Option<Locale>,
    /// Tags.
    pub tags: Tags,
    /// Metadata.
    pub metadata: Metadata,
    /// Roles.
    pub roles: RoleChoice,
    /// Where the user signs in.
    pub login_url: Option<HttpUrl>,
}

fn role_choice(v: &mut Validator, role_ids: Option<Vec<String>>, role: Option<String>) -> Option<RoleChoice> {
    match (role_ids, role) {
        (Some(_), Some(_)) => {
            v.push("role", "conflict", "give role_ids or the deprecated role, not both");
            None
        }
        (Some(ids), None) => {
            if ids.is_empty() {
                v.push("role_ids", "required", "role_ids must name at least one role");
                return None;
            }
            let mut parsed = Vec::with_capacity(ids.len());
            for (i, id) in ids.iter().enumerate() {
                parsed.push(v.check(&format!("role_ids[{i}]"), id.parse::<RoleId>()));
            }
            let mut parsed: Vec<RoleId> = parsed.into_iter().collect::<Option<_>>()?;
            parsed.sort();
            parsed.dedup();
            Some(RoleChoice::Ids(parsed))
        }
        (None, Some(key)) => v.check("role", RoleKey::parse(key)).map(RoleChoice::Key),
        (None, None) => Some(RoleChoice::Unspecified),
    }
}

impl CreateUserInput {
    /// Checks every field against the rules, reporting all problems at once.
    ///
    /// # Errors
    /// [`ValidationErrors`] listing each bad or missing field.
    pub fn validate(self, policy: PasswordPolicy) -> Result<CreateUser, ValidationErrors> {
        let mut v = Validator::default();
        let email = required(&mut v, "email", self.email, Email::parse);
        let credential = match (self.password, self.generate_password) {
            (Some(_), true) => {
                v.push("generate_password", "conflict", "give a password or generate_password, not both");
                None
            }
            (Some(raw), false) => match &email {
                Some(email) => v.check("password", Password::parse(&raw, policy, email)).map(Credential::Password),
                None => {
                    v.check("password", Password::check_length(&raw, policy));
                    None
                }
            },
            (None, true) => Some(Credential::Generate),
            (None, false) => Some(Credential::Invite),
        };
        let username = v.check_opt("username", self.username, Username::parse);
        let first_name = v.check_opt("first_name", self.first_name, NamePart::parse);
        let last_name = v.check_opt("last_name", self.last_name, NamePart::parse);
        let name = match self.name {
            Some(raw) => v.check("name", DisplayName::parse(raw)),
            None => {
                let derived = derive_display_name(
                    first_name.as_ref().and_then(Option::as_ref),
                    last_name.as_ref().and_then(Option::as_ref),
                );
                if derived.is_none() && first_name.is_some() && last_name.is_some() {
                    v.push("name", "required", "name is required (or give first_name / last_name)");
                }
                derived
            }
        };
        let location = v.check_opt("location", self.location, Location::parse);
        let locale = v.check_opt("locale", self.locale, Locale::parse);
        let tags = v.check("tags", Tags::parse(self.tags.unwrap_or_default()));
        let metadata = v.check("metadata", Metadata::parse(self.metadata.unwrap_or_default()));
        let roles = role_choice(&mut v, self.role_ids, self.role);
        let login_url = v.check_opt("login_url", self.login_url, HttpUrl::parse);
        v.build(|| {
            Some(CreateUser {
                email: email?,
                credential: credential?,
                username: username?,
                name: name?,
                first_name: first_name?,
                last_name: last_name?,
                location: location?,
                locale: locale?,
                tags: tags?,
                metadata: metadata?,
                roles: roles?,
                login_url: login_url?,
            })
        })
    }
}

/// A partial update of a user. Outer `None`: leave alone; `Some(None)` clears a nullable
/// field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateUserInput {
    /// New email.
    pub email: Option<String>,
    /// New username.
    pub username: Option<String>,
    /// New display name.
    pub name: Option<String>,
    /// New or cleared first name.
    pub first_name: Option<Option<String>>,
    /// New or cleared last name.
    pub last_name: Option<Option<String>>,
    /// New or cleared location.
    pub location: Option<Option<String>>,
    /// New or cleared locale.
    pub locale: Option<Option<String>>,
    /// Replacement tags.
    pub tags: Option<Vec<String>>,
    /// Replacement metadata.
    pub metadata: Option<BTreeMap<String, String>>,
    /// `active` or `suspended`.
    pub status: Option<String>,
    /// Replacement role ids (at least one).
    pub role_ids: Option<Vec<String>>,
    /// Legacy: one role key replacing all roles.
    pub role: Option<String>,
    /// A new password.
    pub password: Option<String>,
}

/// A status an update may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("status can be set to active or suspended (invited users become active by accepting their invitation)")]
pub struct StatusChangeError;

impl FieldProblem for StatusChangeError {
    fn code(&self) -> &'static str {
        "invalid"
    }
}

/// A validated [`UpdateUserInput`]. The password is still raw: it is checked against the
/// user's (possibly new) email by the use case.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    /// New email.
    pub email: Option<Email>,
    /// New username.
    pub username: Option<Username>,
    /// New display name.
    pub name: Option<DisplayName>,
    /// New or cleared first name.
    pub first_name: Option<Option<NamePart>>,
    /// New or cleared last name.
    pub last_name: Option<Option<NamePart>>,
    /// New or cleared location.
    pub location: Option<Option<Location>>,
    /// New or cleared locale.
    pub locale: Option<Option<Locale>>,
    /// Replacement tags.
    pub tags: Option<Tags>,
    /// Replacement metadata.
    pub metadata: Option<Metadata>,
    /// New status (active or suspended).
    pub status: Option<UserStatus>,
    /// Replacement roles ([`RoleChoice::Unspecified`] keeps them).
    pub roles: RoleChoice,
    /// New password, unchecked.
    pub password: Option<String>,
}

impl UpdateUserInput {
    /// Checks every given field.
    ///
    /// # Errors
    /// [`ValidationErrors`] listing each bad field.
    pub fn validate(self) -> Result<UserChanges, ValidationErrors> {
        let mut v = Validator::default();
        let status = v.check_opt("status", self.status, |s| match UserStatus::from_name(&s) {
            Some(s @ (UserStatus::Active | UserStatus::Suspended)) => Ok(s),
            _ => Err(StatusChangeError),
        });
        let roles = role_choice(&mut v, self.role_ids, self.role);
        let changes = UserChanges {
            email: v.check_opt("email", self.email, Email::parse).flatten(),
            username: v.check_opt("username", self.username, Username::parse).flatten(),
            name: v.check_opt("name", self.name, DisplayName::parse).flatten(),
            first_name: nullable(&mut v, "first_name", self.first_name, NamePart::parse),
            last_name: nullable(&mut v, "last_name", self.last_name, NamePart::parse),
            location: nullable(&mut v, "location", self.location, Location::parse),
            locale: nullable(&mut v, "locale", self.locale, Locale::parse),
            tags: v.check_opt("tags", self.tags, Tags::parse).flatten(),
            metadata: v.check_opt("metadata", self.metadata, Metadata::parse).flatten(),
            status: status.flatten(),
            roles: roles.unwrap_or_default(),
            password: self.password,
        };
        v.finish().map(|()| changes)
    }
}

/// A list request for users, as the caller sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListUsersInput {
    /// Page size (default 50, at most 200).
    pub limit: Option<i64>,
    /// Where to continue.
    pub cursor: Option<String>,
    /// Exact email.
    pub email: Option<String>,
    /// Substring of name, email or username.
    pub q: Option<String>,
    /// Status (`invited`, `active`, `suspended`).
    pub status: Option<String>,
    /// Holders of this role.
    pub role_id: Option<String>,
    /// Users with this tag.
    pub tag: Option<String>,
    /// Order (`created_at`, `-created_at`, `email`, `-email`, `name`, `-name`).
    pub sort: Option<String>,
}

/// A query text or enum value that is not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadQuery(pub &'static str);

impl FieldProblem for BadQuery {
    fn code(&self) -> &'static str {
        "invalid"
    }
}

/// A validated [`ListUsersInput`] (the cursor is checked by the use case, which knows the
/// sort it belongs to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListUsers {
    /// Page size.
    pub limit: crate::page::PageSize,
    /// Raw cursor.
    pub cursor: Option<String>,
    /// Filters.
    pub filter: UserFilter,
    /// Order.
    pub sort: UserSort,
}

impl ListUsersInput {
    /// Checks the query parameters.
    ///
    /// # Errors
    /// [`ValidationErrors`] listing each bad parameter.
    pub fn validate(self) -> Result<ListUsers, ValidationErrors> {
        let mut v = Validator::default();
        let limit = v.check_opt("limit", self.limit, crate::page::PageSize::new);
        let email = v.check_opt("email", self.email, Email::parse);
        let q = v.check_opt("q", self.q, |q| {
            let q = q.trim().to_owned();
            if q.is_empty() || q.chars().count() > 100 {
                Err(BadQuery("q must be 1 to 100 characters"))
            } else if q.chars().any(char::is_control) {
                // Storage joins the searched fields with a control character, so a query
                // holding one could match across fields.
                Err(BadQuery("q must not contain control characters"))
            } else {
                Ok(q)
            }
        });
        let status = v.check_opt("status", self.status, |s| match UserStatus::from_name(&s) {
            Some(UserStatus::Deleted) | None => Err(BadQuery("status must be invited, active or suspended")),
            Some(s) => Ok(s),
        });
        let role_id = v.check_opt("role_id", self.role_id, |s| s.parse::<RoleId>());
        let tag = v.check_opt("tag", self.tag, Tag::parse);
        let sort = v.check_opt("sort", self.sort, |s| {
            UserSort::from_name(&s)
                .ok_or(BadQuery("sort must be one of created_at, -created_at, email, -email, name, -name"))
        });
        v.build(|| {
            Some(ListUsers {
                limit: limit?.unwrap_or_default(),
                cursor: self.cursor,
                filter: UserFilter { email: email?, q: q?, status: status?, role_id: role_id?, tag: tag? },
                sort: sort?.unwrap_or_default(),
            })
        })
    }
}

/// Parses the ids of a batch delete: 1 to 100 of them. Ids that are not UUIDs cannot
/// name a user, so they are reported per item as not found rather than failing the batch.
///
/// # Errors
/// [`ValidationErrors`] when the list is empty or too long.
pub fn batch_ids(raw: &[String]) -> Result<Vec<(String, Option<UserId>)>, ValidationErrors> {
    if raw.is_empty() || raw.len() > MAX_BATCH {
        return Err(ValidationErrors::single("user_ids", "length", "user_ids must hold 1 to 100 ids"));
    }
    Ok(raw.iter().map(|s| (s.clone(), s.parse::<UserId>().ok())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> CreateUserInput {
        CreateUserInput { email: Some("ada@example.com".into()), name: Some("Ada".into()), ..Default::default() }
    }

    fn fields(err: &ValidationErrors) -> Vec<&str> {
        err.fields().iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn email_is_required_and_name_can_be_derived() {
        let err = CreateUserInput::default().validate(PasswordPolicy::default()).unwrap_err();
        assert_eq!(fields(&err), ["email", "name"]);
        let cmd = CreateUserInput {
            email: Some("ada@example.com".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            ..Default::default()
        }
        .validate(PasswordPolicy::default())
        .unwrap();
        assert_eq!(cmd.name.as_str(), "Ada Lovelace");
    }

    #[test]
    fn role_ids_and_role_together_are_rejected() {
        let err = CreateUserInput {
            role_ids: Some(vec![uuid::Uuid::now_v7().to_string()]),
            role: Some("admin".into()),
            ..base()
        }
        .validate(PasswordPolicy::default())
        .unwrap_err();
        assert_eq!(fields(&err), ["role"]);
    }

    #[test]
    fn empty_role_ids_are_rejected_and_bad_ids_named() {
        let err = CreateUserInput { role_ids: Some(vec![]), ..base() }.validate(PasswordPolicy::default()).unwrap_err();
        assert_eq!(fields(&err), ["role_ids"]);
        let err = CreateUserInput { role_ids: Some(vec!["x".into()]), ..base() }
            .validate(PasswordPolicy::default())
            .unwrap_err();
        assert_eq!(fields(&err), ["role_ids[0]"]);
    }

    #[test]
    fn password_and_generation_exclude_each_other() {
        let err = CreateUserInput { password: Some("long enough password".into()), generate_password: true, ..base() }
            .validate(PasswordPolicy::default())
            .unwrap_err();
        assert_eq!(fields(&err), ["generate_password"]);
        let cmd = base().validate(PasswordPolicy::default()).unwrap();
        assert!(matches!(cmd.credential, Credential::Invite));
        assert_eq!(cmd.roles, RoleChoice::Unspecified);
    }

    #[test]
    fn updates_cannot_invite_or_delete() {
        for status in ["invited", "deleted", "bogus"] {
            let err = UpdateUserInput { status: Some(status.into()), ..Default::default() }.validate().unwrap_err();
            assert_eq!(fields(&err), ["status"]);
        }
    }

    #[test]
    fn list_parameters_are_checked() {
        let err = ListUsersInput {
            limit: Some(500),
            status: Some("deleted".into()),
            sort: Some("age".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(fields(&err), ["limit", "status", "sort"]);
    }

    #[test]
    fn batches_are_bounded() {
        assert!(batch_ids(&[]).is_err());
        assert!(batch_ids(&vec!["x".to_owned(); 101]).is_err());
        let parsed = batch_ids(&["nope".to_owned()]).unwrap();
        assert_eq!(parsed[0].1, None);
    }
}
