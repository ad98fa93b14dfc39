//! The tables, written once by hand: `diesel print-schema` cannot produce a schema that serves
//! both backends. Keep in step with migrations/{postgres,sqlite}.

diesel::table! {
    dealers (id) {
        id -> Text,
        name -> Text,
        website -> Text,
        key_contacts -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        display_name -> Nullable<Text>,
        logo_url -> Nullable<Text>,
        primary_colour -> Nullable<Text>,
    }
}

diesel::table! {
    dealer_logos (dealer_id) {
        dealer_id -> Text,
        content_type -> Text,
        bytes -> Binary,
        source_url -> Text,
        fetched_at -> Timestamp,
    }
}

diesel::table! {
    customers (id) {
        id -> BigInt,
        dealer_id -> Text,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        email -> Nullable<Text>,
        mobile -> Nullable<Text>,
        consent_process -> Bool,
        consent_market -> Bool,
        consent_source -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deidentified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    leads (id) {
        id -> BigInt,
        dealer_id -> Text,
        customer_id -> BigInt,
        status -> Text,
        recipient_name -> Text,
        recipient_email -> Text,
        source -> Nullable<Text>,
        vehicle -> Nullable<Text>,
        message -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    change_events (id) {
        id -> BigInt,
        dealer_id -> Text,
        customer_id -> Nullable<BigInt>,
        kind -> Text,
        actor_role -> Text,
        actor_sub -> Text,
        channel -> Text,
        changes -> Text,
        lead_ids -> Nullable<Text>,
        occurred_at -> Timestamp,
        /// The writing transaction's id on PostgreSQL (commit-order reads); 0 on SQLite.
        xact_id -> BigInt,
    }
}

diesel::joinable!(customers -> dealers (dealer_id));
diesel::joinable!(dealer_logos -> dealers (dealer_id));
diesel::joinable!(leads -> customers (customer_id));
diesel::joinable!(change_events -> dealers (dealer_id));

diesel::table! {
    outbox_messages (id) {
        id -> BigInt,
        dealer_id -> Text,
        customer_id -> Nullable<BigInt>,
        kind -> Text,
        channel -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        purged_at -> Nullable<Timestamp>,
        webhook_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_deliveries (message_id) {
        message_id -> BigInt,
        event_id -> BigInt,
        event_type -> Text,
        last_status_code -> Nullable<Integer>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        dealer_id -> Text,
        url -> Text,
        events -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox_contents (message_id) {
        message_id -> BigInt,
        recipients -> Text,
        subject -> Nullable<Text>,
        body_text -> Text,
        body_html -> Nullable<Text>,
    }
}

diesel::joinable!(outbox_contents -> outbox_messages (message_id));

diesel::table! {
    verifications (id) {
        id -> Text,
        dealer_id -> Text,
        channel -> Text,
        identifier -> Text,
        identifier_key -> Text,
        client_key -> Text,
        code_hash -> Text,
        attempts -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        purpose -> Text,
        customer_id -> Nullable<BigInt>,
        requested_by -> Nullable<Text>,
    }
}

diesel::table! {
    spent_subjects (sub_key) {
        sub_key -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    lookup_alerts (dealer_id, identifier_key, day) {
        dealer_id -> Text,
        identifier_key -> Text,
        day -> Date,
    }
}

diesel::table! {
    blacklist_emails (dealer_id, value) {
        dealer_id -> Text,
        value -> Text,
        added_on -> Date,
        removed_on -> Nullable<Date>,
        changed_on -> Date,
    }
}

diesel::table! {
    blacklist_mobiles (dealer_id, value) {
        dealer_id -> Text,
        value -> Text,
        added_on -> Date,
        removed_on -> Nullable<Date>,
        changed_on -> Date,
    }
}

diesel::table! {
    blacklist_pulls (id) {
        id -> BigInt,
        dealer_id -> Text,
        sub -> Text,
        role -> Text,
        list -> Text,
        format -> Text,
        since -> Nullable<Date>,
        items -> BigInt,
        at -> Timestamp,
    }
}

diesel::table! {
    feed_reads (dealer_id, sub, role) {
        dealer_id -> Text,
        sub -> Text,
        role -> Text,
        first_read_at -> Timestamp,
        last_read_at -> Timestamp,
        reads -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        fingerprint -> Text,
        dealer_id -> Nullable<Text>,
        status -> Text,
        response_status -> Nullable<Integer>,
        response_type -> Nullable<Text>,
        response_location -> Nullable<Text>,
        response_etag -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        created_at -> Timestamp,
        refs -> Nullable<Text>,
    }
}

diesel::table! {
    failed_codes (id) {
        id -> BigInt,
        dealer_id -> Text,
        identifier_key -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    customer_reads (id) {
        id -> BigInt,
        dealer_id -> Text,
        customer_id -> BigInt,
        actor_role -> Text,
        actor_sub -> Text,
        read_at -> Timestamp,
    }
}

diesel::table! {
    withdrawn_read_counts (customer_id) {
        customer_id -> BigInt,
        reads -> BigInt,
    }
}

diesel::table! {
    follow_ups (id) {
        id -> BigInt,
        dealer_id -> Text,
        kind -> Text,
        customer_id -> Nullable<BigInt>,
        lead_ids -> Nullable<Text>,
        assignees -> Text,
        message_id -> BigInt,
        identifier -> Nullable<Text>,
        created_at -> Timestamp,
        due_at -> Timestamp,
        status -> Text,
        done_at -> Nullable<Timestamp>,
        done_by -> Nullable<Text>,
        note -> Nullable<Text>,
        reminded_early_at -> Nullable<Timestamp>,
        reminded_due_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    follow_ups,
    dealers,
    dealer_logos,
    customers,
    leads,
    change_events,
    outbox_messages,
    outbox_contents,
    webhooks,
    webhook_deliveries,
    verifications,
    lookup_alerts,
    blacklist_emails,
    blacklist_mobiles,
    blacklist_pulls,
    feed_reads,
    idempotency_keys,
    spent_subjects,
    failed_codes,
    customer_reads,
    withdrawn_read_counts
);
