//! Validated value objects. Each has a private field and one fallible constructor that
//! normalises its input, so a value that exists is a valid value.

mod email;
mod metadata;
mod password;
mod slug;
mod text;

pub use email::{Email, EmailError};
pub use metadata::{Metadata, MetadataError};
pub use password::{Password, PasswordError, PasswordPolicy};
pub use slug::{Slug, SlugError, Username, UsernameError};
pub use text::{
    Description, DisplayName, DomainName, HttpUrl, KeyName, Locale, Location, NamePart, OrgName, Tag, Tags, TextError,
};
