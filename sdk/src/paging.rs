//! Every paged list as a `futures::Stream` of its items: the stream reads the next page when
//! the current one is used up, until the server says there is no next page.

use std::collections::VecDeque;
use std::future::Future;

use futures::Stream;

use crate::error::Result;
use crate::types;
use crate::Client;

/// Turns a page reader into a stream of items. `fetch` gets the cursor (None for the first
/// page) and returns the page's items and the next cursor.
pub fn pages<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>)>>,
{
    struct State<T, F> {
        fetch: F,
        buffer: VecDeque<T>,
        cursor: Option<String>,
        done: bool,
    }
    let state = State {
        fetch,
        buffer: VecDeque::new(),
        cursor: None,
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.buffer.pop_front() {
                return Some((Ok(item), state));
            }
            if state.done {
                return None;
            }
            match (state.fetch)(state.cursor.take()).await {
                Ok((items, next)) => {
                    state.done = next.is_none();
                    state.cursor = next;
                    state.buffer.extend(items);
                }
                Err(error) => {
                    state.done = true;
                    return Some((Err(error), state));
                }
            }
        }
    })
}

/// The largest page the server gives.
const PAGE: std::num::NonZeroU64 = match std::num::NonZeroU64::new(1000) {
    Some(n) => n,
    None => unreachable!(),
};

/// A dealer's customers, in id order; `email` and/or `mobile` narrow it (any written form).
pub fn customers<'a>(
    client: &'a Client,
    dealer: &'a str,
    email: Option<&'a str>,
    mobile: Option<&'a str>,
) -> impl Stream<Item = Result<types::Customer>> + 'a {
    pages(move |after| async move {
        let mut request = client.list_customers().dealer(dealer).limit(PAGE);
        if let Some(email) = email {
            request = request.email(email);
        }
        if let Some(mobile) = mobile {
            request = request.mobile(mobile);
        }
        if let Some(after) = after {
            request = request.after(after);
        }
        let page = request.send().await?.into_inner();
        Ok((page.items, page.next))
    })
}

/// The dealer's change feed, oldest first, from `after` (the `cursor` of the last event a
/// follower applied; None for the beginning).
pub fn dealer_history<'a>(
    client: &'a Client,
    dealer: &'a str,
    after: Option<String>,
) -> impl Stream<Item = Result<types::ChangeEvent>> + 'a {
    let mut first = after;
    pages(move |cursor| {
        let after = cursor.or_else(|| first.take());
        async move {
            let mut request = client.dealer_history().dealer(dealer).limit(PAGE);
            if let Some(after) = after {
                request = request.after(after);
            }
            let page = request.send().await?.into_inner();
            Ok((page.items, page.next))
        }
    })
}

/// One customer's history, oldest first.
pub fn customer_history<'a>(
    client: &'a Client,
    dealer: &'a str,
    customer_id: i64,
) -> impl Stream<Item = Result<types::ChangeEvent>> + 'a {
    pages(move |after| async move {
        let mut request = client
            .customer_history()
            .dealer(dealer)
            .id(customer_id)
            .limit(PAGE);
        if let Some(after) = after {
            request = request.after(after);
        }
        let page = request.send().await?.into_inner();
        Ok((page.items, page.next))
    })
}

/// The dealer's notifications, optionally of one status.
pub fn notifications<'a>(
    client: &'a Client,
    dealer: &'a str,
    status: Option<types::NotificationStatus>,
) -> impl Stream<Item = Result<types::Notification>> + 'a {
    pages(move |after| async move {
        let mut request = client.list_notifications().dealer(dealer).limit(PAGE);
        if let Some(status) = status {
            request = request.status(status);
        }
        if let Some(after) = after {
            request = request.after(after);
        }
        let page = request.send().await?.into_inner();
        Ok((page.items, page.next))
    })
}

/// Which blacklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Emails,
    Mobiles,
}

impl List {
    pub fn as_str(self) -> &'static str {
        match self {
            List::Emails => "emails",
            List::Mobiles => "mobiles",
        }
    }
}

/// A blacklist's entries (`{value, added_on}`), or with `since` its changes
/// (`{value, change, on}`), by day and value.
pub fn blacklist<'a>(
    client: &'a Client,
    dealer: &'a str,
    list: List,
    since: Option<chrono::NaiveDate>,
) -> impl Stream<Item = Result<types::BlacklistItem>> + 'a {
    pages(move |after| async move {
        let page = match list {
            List::Emails => {
                let mut request = client.list_blacklist_emails().dealer(dealer).limit(PAGE);
                if let Some(since) = since {
                    request = request.since(since);
                }
                if let Some(after) = after {
                    request = request.after(after);
                }
                request.send().await?.into_inner()
            }
            List::Mobiles => {
                let mut request = client.list_blacklist_mobiles().dealer(dealer).limit(PAGE);
                if let Some(since) = since {
                    request = request.since(since);
                }
                if let Some(after) = after {
                    request = request.after(after);
                }
                request.send().await?.into_inner()
            }
        };
        Ok((page.items, page.next))
    })
}

/// Every export and check of the dealer's blacklists.
pub fn blacklist_pulls<'a>(
    client: &'a Client,
    dealer: &'a str,
) -> impl Stream<Item = Result<types::BlacklistPull>> + 'a {
    pages(move |after| async move {
        let mut request = client.list_blacklist_pulls().dealer(dealer).limit(PAGE);
        if let Some(after) = after {
            request = request.after(after);
        }
        let page = request.send().await?.into_inner();
        Ok((page.items, page.next))
    })
}

/// The dealer's webhook endpoints (without their secrets).
pub fn webhooks<'a>(
    client: &'a Client,
    dealer: &'a str,
) -> impl Stream<Item = Result<types::Webhook>> + 'a {
    pages(move |after| async move {
        let mut request = client.list_webhooks().dealer(dealer).limit(PAGE);
        if let Some(after) = after {
            request = request.after(after);
        }
        let page = request.send().await?.into_inner();
        Ok((page.items, page.next))
    })
}

/// A webhook endpoint's deliveries, optionally of one status.
pub fn webhook_deliveries<'a>(
    client: &'a Client,
    dealer: &'a str,
    webhook: i64,
    status: Option<types::DeliveryStatus>,
) -> impl Stream<Item = Result<types::WebhookDelivery>> + 'a {
    pages(move |after| async move {
        let mut request = client
            .list_webhook_deliveries()
            .dealer(dealer)
            .id(webhook)
            .limit(PAGE);
        if let Some(status) = status {
            request = request.status(status);
        }
        if let Some(after) = after {
            request = request.after(after);
        }
        let page = request.send().await?.into_inner();
        Ok((page.items, page.next))
    })
}
