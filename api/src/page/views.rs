//! The page's templates (`api/templates/page/`), compiled into the binary by askama, which
//! escapes every value. Words come from the language files through [`Chrome::t`].

use askama::Template;

use super::i18n::Words;

/// What every page shows around its step: the dealer's name and logo, the language switch,
/// the CSRF token for its forms, the sign-out when signed in.
pub struct Chrome {
    pub t: Words,
    /// The dealer's id, for the page's addresses (empty on an unknown dealer's 404).
    pub dealer: String,
    /// The dealer's display name, or the service's brand on an unknown dealer's 404.
    pub name: String,
    pub has_logo: bool,
    pub has_theme: bool,
    pub csrf: String,
    pub signed_in: bool,
    pub languages: Vec<LanguageLink>,
}

/// The switch to another language.
pub struct LanguageLink {
    pub code: &'static str,
    pub name: &'static str,
    pub href: String,
}

impl Chrome {
    pub fn new(t: Words, service_name: &str, csrf: String) -> Chrome {
        Chrome {
            t,
            dealer: String::new(),
            name: service_name.to_owned(),
            has_logo: false,
            has_theme: false,
            csrf,
            signed_in: false,
            languages: Vec::new(),
        }
    }

    /// The words of `id`, with the dealer's name for `{ $dealer }`.
    pub fn t(&self, id: &str) -> String {
        self.t.text(id, &[("dealer", self.name.as_str().into())])
    }

    /// The words of `id` with one more value.
    pub fn t1(&self, id: &str, name: &'static str, value: impl ToString) -> String {
        self.t.text(
            id,
            &[
                ("dealer", self.name.as_str().into()),
                (name, value.to_string().into()),
            ],
        )
    }

    /// A number of wrong-code tries left, in words with the right plural.
    pub fn tries_left(&self, left: u32) -> String {
        if left == 0 {
            return self.t("error-wrong-code-last");
        }
        self.t
            .text("error-wrong-code", &[("left", u64::from(left).into())])
    }

    /// `/pi/{dealer}` followed by `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/pi/{}{rest}", self.dealer)
    }

    /// A limit's message with its wait in words (`Try again in 15 minutes.`).
    pub fn wait_text(&self, id: &str, retry_after: u64) -> String {
        self.t1(id, "wait", self.t.wait(retry_after))
    }
}

/// A field's error, tied to its input by id (`{field}-error`).
pub struct FieldError {
    pub field: &'static str,
    pub text: String,
}

/// Renders a page template. A failure is a fault in a template, logged by the caller.
pub trait RenderPage {
    fn render_page(&self) -> askama::Result<String>;
}

impl<T: Template> RenderPage for T {
    fn render_page(&self) -> askama::Result<String> {
        self.render()
    }
}

/// A title and a sentence: not found, refused, failed, done.
#[derive(Template)]
#[template(path = "page/message.html")]
pub struct MessagePage<'a> {
    pub chrome: &'a Chrome,
    pub title: String,
    pub text: String,
    /// The message's id in the language files, which is also its element's id.
    pub text_id: &'static str,
}

/// Step 1: the email or mobile to prove.
#[derive(Template)]
#[template(path = "page/identify.html")]
pub struct IdentifyPage<'a> {
    pub chrome: &'a Chrome,
    pub by_mobile: bool,
    /// What was typed, shown again after an error.
    pub value: String,
    pub error: Option<FieldError>,
    pub form_error: Option<String>,
    pub notice: Option<String>,
}

/// Step 2 (and the confirmation of a new email or mobile): the code.
#[derive(Template)]
#[template(path = "page/code.html")]
pub struct CodePage<'a> {
    pub chrome: &'a Chrome,
    pub title: String,
    pub sent: String,
    pub action: String,
    /// Where a new code is asked for (sign-in only).
    pub resend_action: Option<String>,
    /// Where to go instead.
    pub back: (String, String),
    pub error: Option<FieldError>,
    pub form_error: Option<String>,
    pub notice: Option<String>,
}

/// Step 3: what is held.
#[derive(Template)]
#[template(path = "page/records.html")]
pub struct RecordsPage<'a> {
    pub chrome: &'a Chrome,
    pub identifier: String,
    pub records: Vec<RecordView>,
    pub blacklisted: bool,
    pub third_parties: Vec<ThirdPartyView>,
    pub status: Option<String>,
}

pub struct RecordView {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub mobile: String,
    pub consent_process: bool,
    pub consent_market: bool,
    pub consent_source: String,
    pub leads: Vec<LeadView>,
}

pub struct LeadView {
    pub vehicle: String,
    pub status: String,
    pub salesperson: String,
    pub date: String,
}

pub struct ThirdPartyView {
    pub name: String,
    pub category: String,
    pub accessed: String,
    pub last: String,
}

/// Step 4: correct names and marketing consent; start a new email or mobile.
#[derive(Template)]
#[template(path = "page/edit.html")]
pub struct EditPage<'a> {
    pub chrome: &'a Chrome,
    pub id: i64,
    pub etag: String,
    pub first_name: String,
    pub last_name: String,
    pub consent_market: bool,
    pub new_email: String,
    pub new_mobile: String,
    pub errors: Vec<FieldError>,
    pub form_error: Option<String>,
}

impl EditPage<'_> {
    /// The error of `field`, if it has one.
    pub fn error_of(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.text.as_str())
    }
}

/// Step 5: what a withdrawal does, and the button.
#[derive(Template)]
#[template(path = "page/withdraw.html")]
pub struct WithdrawPage<'a> {
    pub chrome: &'a Chrome,
}
