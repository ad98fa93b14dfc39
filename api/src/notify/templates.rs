//! The message bodies, as askama templates (`api/templates/emails/`), checked at compile time.
//! HTML templates escape every value, so a customer named `<script>` injects nothing.

use askama::Template;

use super::Branding;

/// The one-time code a customer needs to prove control of an email or mobile.
pub struct OneTimeCode {
    pub dealer_name: String,
    pub code: String,
    pub minutes: u32,
}

/// A /pi lookup that found nothing.
pub struct LookupNotFound {
    pub website: String,
    /// The email or mobile looked up, as the dealer will search for it.
    pub identifier: String,
    /// The dealer's hosted /pi page, so that staff can see what the customer saw.
    pub page_url: Option<String>,
}

/// A customer withdrew consent to process.
pub struct ConsentWithdrawn {
    pub first_name: String,
    pub last_name: String,
}

/// A customer changed their details or marketing consent.
pub struct DetailsAltered {
    pub first_name: String,
    pub last_name: String,
    pub rows: Vec<AlteredRow>,
}

/// One line of the Was/Changed table.
pub struct AlteredRow {
    pub label: &'static str,
    pub was: String,
    pub now: String,
    pub changed: bool,
}

/// A salesperson's lead belongs to a customer who was de-identified.
pub struct DeidentifyAlert {
    pub recipient_name: String,
    pub customer_first_name: String,
    pub customer_id: i64,
    pub lead_ids: Vec<i64>,
}

/// A follow-up still open 7 days before it is due, or on the day.
pub struct FollowUpReminder {
    pub id: i64,
    pub dealer: String,
    pub kind: String,
    pub customer_id: Option<i64>,
    pub lead_ids: Vec<i64>,
    pub assignees: String,
    pub opened: String,
    pub due: String,
    pub overdue: bool,
}

/// What a reconcile after a restore did for one dealer: counts and ids, never a name or value.
pub struct ReconcileSummary {
    pub dealer: String,
    /// Blacklist entries put back from the source, per list.
    pub emails_restored: usize,
    pub mobiles_restored: usize,
    pub customer_ids: Vec<i64>,
    pub lead_ids: Vec<i64>,
}

/// Declares a template type for one body of one message.
macro_rules! body {
    ($name:ident, $facts:ty, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        pub struct $name<'a> {
            pub branding: &'a Branding,
            pub facts: &'a $facts,
        }
    };
}

body!(OneTimeCodeText, OneTimeCode, "emails/one_time_code.txt");
body!(OneTimeCodeHtml, OneTimeCode, "emails/one_time_code.html");
body!(OneTimeCodeSms, OneTimeCode, "emails/one_time_code_sms.txt");
body!(
    LookupNotFoundText,
    LookupNotFound,
    "emails/lookup_not_found.txt"
);
body!(
    LookupNotFoundHtml,
    LookupNotFound,
    "emails/lookup_not_found.html"
);
body!(
    ConsentWithdrawnText,
    ConsentWithdrawn,
    "emails/consent_withdrawn.txt"
);
body!(
    ConsentWithdrawnHtml,
    ConsentWithdrawn,
    "emails/consent_withdrawn.html"
);
body!(
    DetailsAlteredText,
    DetailsAltered,
    "emails/details_altered.txt"
);
body!(
    DetailsAlteredHtml,
    DetailsAltered,
    "emails/details_altered.html"
);
body!(
    DeidentifyAlertText,
    DeidentifyAlert,
    "emails/deidentify_alert.txt"
);
body!(
    FollowUpReminderText,
    FollowUpReminder,
    "emails/follow_up_reminder.txt"
);
body!(
    FollowUpReminderHtml,
    FollowUpReminder,
    "emails/follow_up_reminder.html"
);
body!(
    DeidentifyAlertHtml,
    DeidentifyAlert,
    "emails/deidentify_alert.html"
);
body!(
    ReconcileSummaryText,
    ReconcileSummary,
    "emails/reconcile_summary.txt"
);
body!(
    ReconcileSummaryHtml,
    ReconcileSummary,
    "emails/reconcile_summary.html"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_escape_every_value() {
        let facts = DetailsAltered {
            first_name: "<script>alert(1)</script>".into(),
            last_name: "O'Brien & Sons".into(),
            rows: vec![AlteredRow {
                label: "Name",
                was: "<b>".into(),
                now: "\"x\"".into(),
                changed: true,
            }],
        };
        let html = DetailsAlteredHtml {
            branding: &Branding::new("<Brand>", "a@b.test"),
            facts: &facts,
        }
        .render()
        .unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&#60;script&#62;"), "{html}");
        assert!(!html.contains("<b>") && !html.contains("<Brand>"), "{html}");
        assert!(html.contains("O&#39;Brien &#38; Sons"), "{html}");
        // Plain text is not HTML-escaped.
        let text = DetailsAlteredText {
            branding: &Branding::new("B", "a@b.test"),
            facts: &facts,
        }
        .render()
        .unwrap();
        assert!(text.contains("O'Brien & Sons"), "{text}");
    }
}
