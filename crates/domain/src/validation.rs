//! Field-level validation errors, collected so a caller sees every bad field at once.

use std::fmt;

/// One invalid field: where it is, a stable machine code and a human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the caller spelled it (`email`, `role_ids[1]`).
    pub field: String,
    /// A stable machine code (`required`, `invalid`, `too_long`, …).
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
}

/// Every field error of one request. Never empty when returned as an error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// One error for one field.
    pub fn single(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self(vec![FieldError { field: field.into(), code, message: message.into() }])
    }

    /// The field errors, in the order they were found.
    pub fn fields(&self) -> &[FieldError] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds one field error.
    pub fn push(&mut self, field: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), code, message: message.into() });
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<&str> = self.0.iter().map(|e| e.field.as_str()).collect();
        write!(f, "invalid fields: {}", fields.join(", "))
    }
}

impl std::error::Error for ValidationErrors {}

/// A value-level error that knows its machine code; every newtype error implements it.
pub trait FieldProblem: fmt::Display {
    /// A stable machine code for the problem (`invalid`, `too_long`, …).
    fn code(&self) -> &'static str;
}

/// Collects field errors while a raw request is turned into a validated command.
///
/// ```
/// use roster_domain::validation::Validator;
/// use roster_domain::values::Email;
///
/// let mut v = Validator::default();
/// let email = v.check("email", Email::parse("not an email"));
/// assert!(email.is_none());
/// assert!(v.finish().is_err());
/// ```
#[derive(Debug, Default)]
pub struct Validator {
    errors: ValidationErrors,
}

impl Validator {
    /// Keeps the value, or records the error under `field`.
    pub fn check<T, E: FieldProblem>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.errors.push(field, e.code(), e.to_string());
                None
            }
        }
    }

    /// Validates an optional input: absent stays absent.
    pub fn check_opt<I, T, E: FieldProblem>(
        &mut self,
        field: &str,
        input: Option<I>,
        parse: impl FnOnce(I) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match input {
            None => Some(None),
            Some(raw) => self.check(field, parse(raw)).map(Some),
        }
    }

    /// Records that a required field is missing.
    pub fn missing(&mut self, field: &str) {
        self.errors.push(field, "required", format!("{field} is required"));
    }

    /// Records any other problem.
    pub fn push(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.errors.push(field, code, message);
    }

    /// Whether nothing has failed so far.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when every field was valid, else all the errors.
    ///
    /// # Errors
    /// Returns the collected [`ValidationErrors`] when any field failed.
    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() { Ok(()) } else { Err(self.errors) }
    }

    /// Finishes, then assembles the command from the checked fields. `make` uses `?` on
    /// the `Option`s that [`Validator::check`] returned; they are all `Some` once no
    /// error was recorded.
    ///
    /// # Errors
    /// The collected [`ValidationErrors`] when any field failed.
    pub fn build<T>(self, make: impl FnOnce() -> Option<T>) -> Result<T, ValidationErrors> {
        self.finish()?;
        make().ok_or_else(|| ValidationErrors::single("body", "invalid", "the request is invalid"))
    }
}
